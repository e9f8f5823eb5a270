/**
 * The editor plugin reports exactly what `akts check` reports: through the real LanguageService, and through a
 * real tsserver process that loads `akts/language-service` from a project's tsconfig.
 */
import { describe, expect, test } from "vitest";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import ts from "typescript";
import init from "../integrations/language-service";
import { repoTempDir, ROOT } from "./helpers";
import { checkInProcess } from "./program-host";
import { writeSourcesProject } from "./diagnostic-sources";

type Finding = { code: string; severity: string; line: number; column: number; message: string };

async function checkFindings(dir: string): Promise<Map<string, Finding[]>> {
  const r = await checkInProcess(["-p", path.join(dir, "tsconfig.json"), "--format", "json"]);
  const byFile = new Map<string, Finding[]>();
  for (const d of JSON.parse(r.stdout).diagnostics) {
    if (d.code === "AKTS9003") continue;
    const list = byFile.get(d.file) ?? [];
    list.push({ code: d.code, severity: d.severity, line: d.line, column: d.column, message: d.message });
    byFile.set(d.file, list);
  }
  return byFile;
}

/** The editor shows formatFinding's text: `severity CODE: message`, then the hint on its own line. */
function parseText(text: string): Pick<Finding, "code" | "severity" | "message"> {
  const m = /^(error|warning|info) (AKTS\d{4}): (.*?)(\n {2}hint: .*)?$/s.exec(text);
  expect(m, text).not.toBeNull();
  return { severity: m![1], code: m![2], message: m![3] };
}

function fromTs(diags: readonly ts.Diagnostic[]): Finding[] {
  return diags
    .filter((d) => d.source === "akts")
    .map((d) => {
      const { line, character } = d.file!.getLineAndCharacterOfPosition(d.start!);
      return { ...parseText(ts.flattenDiagnosticMessageText(d.messageText, "\n")), line: line + 1, column: character + 1 };
    });
}

const sortFindings = (f: Finding[]) => [...f].sort((a, b) => a.line - b.line || a.column - b.column || a.code.localeCompare(b.code) || a.message.localeCompare(b.message));

/** Shared by the tests' language services: each parses TypeScript's libs and @types/node once, as an editor does. */
const registry = ts.createDocumentRegistry();

function languageService(dir: string, config: Record<string, unknown> = { name: "akts/language-service" }) {
  const parsed = ts.getParsedCommandLineOfConfigFile(path.join(dir, "tsconfig.json"), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })!;
  const host: ts.LanguageServiceHost = {
    getCompilationSettings: () => parsed.options,
    getScriptFileNames: () => parsed.fileNames,
    getScriptVersion: () => "1",
    getScriptSnapshot: (f) => (fs.existsSync(f) ? ts.ScriptSnapshot.fromString(fs.readFileSync(f, "utf8")) : undefined),
    getCurrentDirectory: () => dir,
    getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
    fileExists: ts.sys.fileExists,
    readFile: ts.sys.readFile,
    readDirectory: ts.sys.readDirectory,
    directoryExists: ts.sys.directoryExists,
    getDirectories: ts.sys.getDirectories,
  };
  const logged: string[] = [];
  const info = {
    languageService: ts.createLanguageService(host, registry),
    languageServiceHost: host,
    project: { getProjectName: () => path.join(dir, "tsconfig.json"), getCurrentDirectory: () => dir, projectService: { logger: { info: (m: string) => logged.push(m) } } },
    config,
  } as unknown as ts.server.PluginCreateInfo;
  return { ls: init({ typescript: ts }).create(info), files: parsed.fileNames, logged };
}

/** A project with every finding (diagnostic-sources.ts), inside the repository so its type packages resolve. */
function sourcesProject(): string {
  const dir = repoTempDir("ls-sources");
  writeSourcesProject(dir, { plugins: [{ transform: "akts/plugin" }, { name: "akts/language-service" }] });
  return dir;
}

describe.each([["every finding", sourcesProject], ["fixtures/fs-builtins", () => path.join(ROOT, "fixtures/fs-builtins")], ["fixtures/pg-sync", () => path.join(ROOT, "fixtures/pg-sync")]])("%s in a LanguageService", (_name, project) => {
  test("the plugin's findings equal akts check's, file by file", async () => {
    const dir = project();
    const expected = await checkFindings(dir);
    expect([...expected.values()].flat().length).toBeGreaterThan(0);
    const { ls, files } = languageService(dir);
    for (const file of files) {
      const rel = path.relative(dir, file);
      const semantic = fromTs(ls.getSemanticDiagnostics(file));
      const suggestion = fromTs(ls.getSuggestionDiagnostics(file));
      expect(semantic.every((d) => d.severity !== "info") && suggestion.every((d) => d.severity === "info"), rel).toBe(true);
      expect(sortFindings([...semantic, ...suggestion]), rel).toEqual(sortFindings(expected.get(rel) ?? []));
    }
  });
});

test("an unknown plugin option shows as an error in the editor", () => {
  const dir = path.join(ROOT, "fixtures", "crash");
  const { ls, files, logged } = languageService(dir, { name: "akts/language-service", alow: ["x:y"] });
  const diags = ls.getSemanticDiagnostics(files[0]).filter((d) => d.source === "akts");
  expect(ts.flattenDiagnosticMessageText(diags[0].messageText, "\n")).toContain("unknown akts plugin option 'alow'");
  expect(logged.join("\n")).toContain("AKTS9002");
});

/** Speaks tsserver's protocol: one JSON request per line in, Content-Length framed JSON out. */
class TsServer {
  private buffer = "";
  private seq = 0;
  private readonly waiting = new Map<number, (body: any) => void>();
  private readonly child;

  constructor(cwd: string) {
    this.child = spawn(process.execPath, [path.join(ROOT, "node_modules/typescript/lib/tsserver.js"), "--allowLocalPluginLoads", "--disableAutomaticTypingAcquisition"], { cwd, stdio: ["pipe", "pipe", "ignore"] });
    this.child.stdout.setEncoding("utf8");
    this.child.stdout.on("data", (chunk: string) => {
      this.buffer += chunk;
      for (;;) {
        const header = /Content-Length: (\d+)\r\n\r\n/.exec(this.buffer);
        if (!header) return;
        const start = header.index + header[0].length;
        const length = Number(header[1]);
        if (Buffer.byteLength(this.buffer.slice(start)) < length) return;
        const body = Buffer.from(this.buffer.slice(start)).subarray(0, length).toString();
        this.buffer = Buffer.from(this.buffer.slice(start)).subarray(length).toString();
        const msg = JSON.parse(body);
        if (msg.type === "response") this.waiting.get(msg.request_seq)?.(msg);
      }
    });
  }

  request(command: string, args: unknown): Promise<any> {
    const seq = ++this.seq;
    return new Promise((resolve) => {
      this.waiting.set(seq, resolve);
      this.child.stdin.write(JSON.stringify({ seq, type: "request", command, arguments: args }) + "\n");
    });
  }

  close(): void {
    this.child.kill();
  }
}

test("a real tsserver loads akts/language-service from the project's tsconfig and reports the same findings", async () => {
  // Inside the repository, so the root's type packages resolve; tsserver finds the plugin by its package name in
  // the project's node_modules (--allowLocalPluginLoads), where `akts` links to the repository.
  const dir = repoTempDir("tsserver");
  fs.cpSync(path.join(ROOT, "fixtures", "fs-builtins"), dir, { recursive: true, filter: (src) => !src.includes("expected-") });
  fs.mkdirSync(path.join(dir, "node_modules"));
  fs.symlinkSync(ROOT, path.join(dir, "node_modules", "akts"));
  const config = JSON.parse(fs.readFileSync(path.join(dir, "tsconfig.json"), "utf8"));
  config.compilerOptions.plugins = [{ name: "akts/language-service" }];
  delete config.compilerOptions.paths;
  fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify(config));
  const expected = (await checkFindings(dir)).get("program.ts")!;
  expect(expected.length).toBeGreaterThan(0);

  const server = new TsServer(dir);
  try {
    const file = path.join(dir, "program.ts");
    await server.request("open", { file });
    const semantic = await server.request("semanticDiagnosticsSync", { file });
    const suggestion = await server.request("suggestionDiagnosticsSync", { file });
    const got = [...semantic.body, ...suggestion.body]
      .filter((d: any) => d.source === "akts")
      .map((d: any) => {
        return { ...parseText(d.text), line: d.start.line, column: d.start.offset };
      });
    expect(sortFindings(got)).toEqual(sortFindings(expected));
  } finally {
    server.close();
  }
});
