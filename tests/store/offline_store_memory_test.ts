import { MemoryOfflineStore } from "../../lib/store/offline_store_memory.ts";
import { testOfflineStore } from "./offline_store_contract.ts";

testOfflineStore("memory", (ttlMs, now) => new MemoryOfflineStore(ttlMs, now));
