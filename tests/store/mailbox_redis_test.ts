import { testMailbox } from "./mailbox_contract.ts";
import { mailboxEngine } from "./redis_engines.ts";

testMailbox("redis", mailboxEngine);
