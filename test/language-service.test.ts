/**
 * The editor plugin reports exactly what `akts check` reports: through the real LanguageService, and through a
 * real tsserver process that loads `akts/language-service` from a project's tsconfig.
 */
import { describe, expect, test } from "vitest";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import ts from "typescript";
import init from "../plugin/language-service";
import { akts, ROOT, tempDir } from "./helpers";

type Finding = { code: string; line: number; column: number; message: string };

function checkFindings(dir: string): Map<string, Finding[]> {
  const r = akts(["check", "-p", path.join(dir, "tsconfig.json"), "--format", "json"]);
  const byFile = new Map<string, Finding[]>();
  for (const d of JSON.parse(r.stdout).diagnostics) {
    if (d.code === "AKTS9003") continue;
    const list = byFile.get(d.file) ?? [];
    list.push({ code: d.code, line: d.line, column: d.column, message: d.message });
    byFile.set(d.file, list);
  }
  return byFile;
}

function fromTs(diags: readonly ts.Diagnostic[]): Finding[] {
  return diags
    .filter((d) => d.source === "akts")
    .map((d) => {
      const { line, character } = d.file!.getLineAndCharacterOfPosition(d.start!);
      const text = ts.flattenDiagnosticMessageText(d.messageText, "\n");
      const [code, ...rest] = text.split(": ");
      return { code, line: line + 1, column: character + 1, message: rest.join(": ").replace(/ \([^()]*(\([^()]*\)[^()]*)*\)$/, "") };
    });
}

const sortFindings = (f: Finding[]) => [...f].sort((a, b) => a.line - b.line || a.column - b.column || a.code.localeCompare(b.code));

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
    languageService: ts.createLanguageService(host),
    languageServiceHost: host,
    project: { getProjectName: () => path.join(dir, "tsconfig.json"), getCurrentDirectory: () => dir, projectService: { logger: { info: (m: string) => logged.push(m) } } },
    config,
  } as unknown as ts.server.PluginCreateInfo;
  return { ls: init({ typescript: ts }).create(info), files: parsed.fileNames, logged };
}

describe.each(["fs-builtins", "pg-sync", "crash", "axios-http"])("fixtures/%s in a LanguageService", (name) => {
  test("the plugin's findings equal akts check's", () => {
    const dir = path.join(ROOT, "fixtures", name);
    const expected = checkFindings(dir);
    const { ls, files } = languageService(dir);
    for (const file of files) {
      const rel = path.relative(dir, file);
      const got = fromTs([...ls.getSemanticDiagnostics(file), ...ls.getSuggestionDiagnostics(file)]);
      expect(sortFindings(got), rel).toEqual(sortFindings(expected.get(rel) ?? []));
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
  const dir = tempDir("tsserver");
  fs.cpSync(path.join(ROOT, "fixtures", "fs-builtins"), dir, { recursive: true, filter: (src) => !src.includes("expected-") });
  fs.mkdirSync(path.join(dir, "node_modules", "@types"), { recursive: true });
  fs.symlinkSync(ROOT, path.join(dir, "node_modules", "akts"));
  fs.symlinkSync(path.join(ROOT, "node_modules", "@types", "node"), path.join(dir, "node_modules", "@types", "node"));
  fs.symlinkSync(path.join(ROOT, "node_modules", "undici-types"), path.join(dir, "node_modules", "undici-types"));
  const config = JSON.parse(fs.readFileSync(path.join(dir, "tsconfig.json"), "utf8"));
  config.compilerOptions.plugins = [{ name: "akts/language-service" }];
  delete config.compilerOptions.paths;
  fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify(config));
  const expected = checkFindings(dir).get("program.ts")!;
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
        const [code, ...rest] = d.text.split(": ");
        return { code, line: d.start.line, column: d.start.offset, message: rest.join(": ").replace(/ \([^()]*(\([^()]*\)[^()]*)*\)$/, "") };
      });
    expect(sortFindings(got)).toEqual(sortFindings(expected));
  } finally {
    server.close();
  }
});
