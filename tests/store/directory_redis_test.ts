import { testDirectory } from "./directory_contract.ts";
import { directoryEngine } from "./redis_engines.ts";

testDirectory("redis", directoryEngine);
