/**
 * Global setup of a mutation run whose tests need PostgreSQL (scripts/mutation-groups.mjs): one private server for
 * the whole run, instead of one per test run (that is, per mutant). Its URL reaches the tests as `pgUrl`.
 */
import { startPgServer } from "./pg-server";

declare module "vitest" {
  export interface ProvidedContext {
    /** A database on a server started once for the run; tests start their own without it. */
    pgUrl?: string;
  }
}

export default async function setup(project: { provide(key: "pgUrl", value: string): void }): Promise<() => void> {
  const pg = await startPgServer();
  project.provide("pgUrl", await pg.createDatabase("shared"));
  return () => pg.stop();
}
