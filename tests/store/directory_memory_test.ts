import { MemoryDirectory } from "../../lib/store/directory_memory.ts";
import { testDirectory } from "./directory_contract.ts";

testDirectory("memory", { open: (options) => Promise.resolve(new MemoryDirectory(options)) });
