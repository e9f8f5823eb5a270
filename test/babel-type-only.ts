/**
 * Where the two front ends differ, and why: `ts` lists sites only the type checker finds (the callee is reached
 * through a value whose origin only its type tells), `babel` what the Babel path finds instead. Read by
 * babel-parity.test.ts and semantics.test.ts; a module of its own, as a file importing a test file runs its tests.
 */
export const TYPE_ONLY: Record<string, { ts: string[]; babel: string[]; why: string }> = {
  "pg-sync/program.ts": { ts: ["24:24 external pool.query", "26:22 external pool.connect", "27:23 external conn.query", "28:9 external (await pool.connect()).query", "28:16 external pool.connect", "29:3 external conn.release"], babel: [], why: "the pool comes from a noActivity() factory" },
  "slack-notify/program.ts": { ts: ["31:21 external workspaces.get(team)?.reactions.add"], babel: [], why: "the client is read from a typed Map" },
  "fs-builtins/program.ts": { ts: ["22:20 external execFileSync"], babel: ["22:20 external execFileSync().trim"], why: "without types .trim() of the result is unknown, so the chain is one activity" },
  "semantics/programs/evaluation-order.ts": { ts: ['6:15 external note("receiver",c).echo'], babel: [], why: "the receiver is returned by a generic project function" },
  "semantics/programs/optional-call-short-circuit.ts": { ts: ["5:15 external maybe?.echo"], babel: [], why: "the receiver is typed, its value is undefined" },
  "semantics/programs/optional-deep-chain.ts": { ts: ["4:19 external holder.inner?.rest.issues.create", "6:25 external holder.inner?.rest.issues.create"], babel: [], why: "the client is stored in a typed object" },
  "semantics/programs/async-generator.ts": { ts: ["3:44 external c.fetchValue"], babel: [], why: "the client is a typed parameter" },
  "semantics/programs/class-method.ts": { ts: ["5:15 external this.c.getName", "5:41 external this.c.fetchValue"], babel: [], why: "the client is a typed class field" },
  "semantics/programs/getter.ts": { ts: ["5:12 external this.c.syncValue"], babel: [], why: "the client is a typed class field" },
  "semantics/programs/fetch-local-server.ts": { ts: ["13:20 external server.address"], babel: [], why: "the server comes from a noActivity() factory" },
  "semantics/programs/no-activity.ts": { ts: ["6:10 external c.getName"], babel: [], why: "the client comes from a noActivity() factory" },
  "semantics/programs/super-call.ts": { ts: ["4:15 external super.getName", "4:34 external this.getName"], babel: [], why: "methods inherited from a package class" },
  "semantics/programs/element-access-evaluation-order.ts": { ts: ['6:15 external note("receiver",c)["echo"]'], babel: [], why: "the receiver is returned by a generic project function" },
  "semantics/programs/optional-element-access-call.ts": { ts: ['5:29 external none?.["getName"]'], babel: [], why: "the receiver is typed, its value is undefined" },
  "semantics/programs/awaited-receiver.ts": { ts: ['7:11 external (await make("late")).getName'], babel: [], why: "the receiver is returned by a project function" },
  "semantics/programs/promise-then-chain.ts": { ts: ["4:10 external c.fetchValue"], babel: ["4:10 external c.fetchValue().then().then"], why: "without types .then() of the result is unknown, so the chain is one activity" },
  "babel-fixtures/sync.ts": { ts: ["42:9 external probe.connect"], babel: [], why: "the client comes from a noActivity() factory" },
  "semantics/programs/async-generator-result.ts": { ts: [], babel: ["5:23 external g.next"], why: "without types the generator's next() is a method of what a package call made" },
  "semantics/programs/promise-property.ts": { ts: ["6:23 external c.lazyValue", "7:25 external c.lazyValue"], babel: ["7:17 external (await(c.lazyValue)).toUpperCase"], why: "a Promise-typed property is known by its type; without types a method of what a client property holds is the client's" },
  "sdk-shapes/program.ts": { ts: ["40:22 external linear.viewer"], babel: [], why: "a Promise-typed property is known by its type" },
  "sdk-findings/program.ts": { ts: ["10:26 external issue.assignee"], babel: [], why: "a Promise-typed property is known by its type" },
  "semantics/programs/reexport-through-project.ts": { ts: ["3:10 external reexportedEcho"], babel: [], why: "a package function re-exported by a project file" },
};
