// vitest globalSetup (Node): one gateway for the whole browser run, its URL handed to the tests.
import { resolve } from "node:path";
import type { TestProject } from "vitest/node";
import { startGateway } from "./gateway";

declare module "vitest" {
  interface ProvidedContext {
    baseUrl: string;
    adminToken: string;
  }
}

export default async function setup(project: TestProject) {
  const root = resolve(import.meta.dirname, "../..");
  const gateway = await startGateway(root, resolve(import.meta.dirname, "screenshots/gateway.log"));
  project.provide("baseUrl", gateway.baseUrl);
  project.provide("adminToken", gateway.adminToken);
  return () => gateway.stop();
}
