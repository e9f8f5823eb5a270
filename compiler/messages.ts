/** Finding texts shared by both front ends, so the TypeScript and Babel paths say the same thing. */
export const MESSAGES = {
  nondeterministic: (callee: string) => `${callee} is nondeterministic: journaled in durable mode, so a replay sees the recorded value`,
  timer: (name: string) => `${name} in workflow code is not durable`,
  timerHint: 'use `await sleep(ms)` from "akts": its deadline is journaled',
  processEnv: "process.env read in workflow code: its value can change between a run and its replay",
  processEnvHint: "declare the value in the manifest's vars, or read it once at module level",
} as const;
