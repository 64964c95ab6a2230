import { MemoryMailbox } from "../../lib/store/mailbox_memory.ts";
import { testMailbox } from "./mailbox_contract.ts";

testMailbox("memory", { open: (options) => Promise.resolve(new MemoryMailbox(options)) });
