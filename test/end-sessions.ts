import { afterAll } from "vitest";
import { endOpenedSessions } from "./helpers/api";

// After each test file: its sessions' sockets close, so they do not load the files after it.
afterAll(endOpenedSessions);
