/**
 * The session page's three files, as strings in this module, so they ship in dist/ like any code and `akts serve`
 * needs no asset folder: the page, its style sheet, and its script (client.ts, served as its compiled source text).
 * Nothing is loaded from the network; the page's Content-Security-Policy (ui.ts) forbids it.
 */
import { client } from "./client";

export const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>akts sessions</title>
<link rel="stylesheet" href="/ui/app.css">
<script src="/ui/app.js" defer></script>
</head>
<body>
<header><h1><a href="#/">akts</a></h1><span>sessions</span></header>
<main id="app"><noscript>This page needs JavaScript.</noscript></main>
</body>
</html>
`;

export const SCRIPT = `"use strict";\n(${client.toString()})();\n`;

export const STYLE = `
:root { --fg: #1d232b; --muted: #5f6b7a; --line: #dde2e8; --bg: #f6f7f9; --card: #fff; --ok: #2f8f5b; --fail: #c23b3b;
  --wait: #c98a12; --act: #3867d6; --timer: #8a63d2; --event: #1f9bb5; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: var(--bg); font-size: 14px; line-height: 1.45; }
header { display: flex; align-items: baseline; gap: .6em; padding: .6em 1.4em; background: #1d232b; color: #fff; }
header h1 { margin: 0; font-size: 1.25em; } header a { color: inherit; text-decoration: none; } header span { color: #aab4c0; }
main { max-width: 1200px; margin: 0 auto; padding: 1em 1.4em 3em; }
h2 { font-size: 1.3em; margin: .6em 0; } h3 { font-size: 1.05em; margin: 0 0 .5em; }
a { color: var(--act); }
nav { display: flex; gap: 1em; align-items: center; }
button { font: inherit; padding: .35em .9em; border: 1px solid #b9c2cc; border-radius: 5px; background: #fff; cursor: pointer; }
button[type=submit] { background: var(--act); border-color: var(--act); color: #fff; }
button.link { border: 0; background: none; color: var(--act); padding: 0; text-decoration: underline; }
input, select, textarea { font: inherit; padding: .35em .5em; border: 1px solid #b9c2cc; border-radius: 5px; background: #fff; }
textarea { font-family: ui-monospace, monospace; width: 100%; }
code, .id, .place, .code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: .92em; }
pre { background: #f1f3f6; padding: .6em; border-radius: 5px; overflow: auto; max-height: 24em; margin: .3em 0; }
.login { max-width: 28em; margin: 3em auto; background: var(--card); padding: 1.4em; border-radius: 8px; border: 1px solid var(--line); display: grid; gap: .7em; }
.error { color: var(--fail); font-weight: 600; white-space: pre-wrap; overflow-wrap: anywhere; }
.filters { display: flex; gap: .5em; margin: .6em 0; }
table.sessions { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line); }
.sessions th, .sessions td { text-align: left; padding: .45em .7em; border-bottom: 1px solid var(--line); white-space: nowrap; }
.sessions th { background: #eef1f4; font-weight: 600; } .num { text-align: right; }
.pager { display: flex; gap: 1.5em; }
.badge { display: inline-block; padding: .05em .6em; border-radius: 99px; font-size: .85em; font-weight: 600; color: #fff; background: var(--muted); vertical-align: middle; }
.badge.completed { background: var(--ok); } .badge.failed { background: var(--fail); } .badge.waiting { background: var(--wait); } .badge.running { background: var(--act); } .badge.cancelled { background: var(--muted); }
.summary { display: grid; grid-template-columns: max-content 1fr max-content 1fr max-content 1fr; gap: .2em 1em; background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .8em 1em; }
.summary dt { color: var(--muted); } .summary dd { margin: 0; overflow-wrap: anywhere; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .8em 1em; margin: .8em 0; }
section.actions:empty { display: none; }
.deliver { display: grid; grid-template-columns: 1fr 2fr auto; gap: .5em 1em; align-items: end; }
.deliver h3, .deliver .note { grid-column: 1 / -1; margin: 0; } .deliver label { display: grid; gap: .2em; color: var(--muted); }
.divergence { border-color: var(--fail); } .divergence dt { color: var(--muted); } .divergence dd { margin: 0 0 .4em; }
.outcome.ok { border-left: 5px solid var(--ok); } .outcome.failed { border-left: 5px solid var(--fail); } .outcome.cancelled { border-left: 5px solid var(--muted); }
button.danger { background: var(--fail); color: #fff; }
.hint { color: var(--muted); }
.axis { display: flex; justify-content: space-between; margin-left: 38%; color: var(--muted); font-size: .85em; border-bottom: 1px solid var(--line); }
.timeline ol { list-style: none; margin: 0; padding: 0; }
.row { display: grid; grid-template-columns: 38% 1fr; column-gap: 1em; padding: .35em 0; border-bottom: 1px dashed var(--line); }
.row .label { display: flex; flex-direction: column; min-width: 0; }
.callee { font-weight: 600; overflow-wrap: anywhere; } .place { color: var(--muted); }
.source { color: #39424e; white-space: pre; overflow: hidden; text-overflow: ellipsis; }
.track { position: relative; min-height: 1.6em; background: linear-gradient(90deg, #f3f5f8, #f3f5f8); border-radius: 4px; align-self: center; }
.bar { position: absolute; top: .3em; height: 1em; border-radius: 3px; background: var(--act); }
.bar.failed, .mark.failed { background: var(--fail); }
.bar.timer { background: repeating-linear-gradient(45deg, var(--timer), var(--timer) 4px, #b9a4e6 4px, #b9a4e6 8px); }
.bar.waiting { background: repeating-linear-gradient(45deg, var(--wait), var(--wait) 6px, #f1cf86 6px, #f1cf86 12px); animation: wait 1.2s linear infinite; background-size: 200% 100%; }
@keyframes wait { to { background-position: 34px 0; } }
.mark { position: absolute; top: .15em; width: .9em; height: .9em; margin-left: -.45em; transform: rotate(45deg); background: var(--event); }
.mark.activity { background: var(--act); } .mark.end { background: var(--ok); }
.dur { position: absolute; right: .3em; top: .15em; color: var(--muted); font-size: .85em; }
.details { grid-column: 2; } .details summary { color: var(--muted); cursor: pointer; font-size: .9em; }
.attempt { padding: .4em .6em; margin: .4em 0 .2em; background: #eef1f4; border-radius: 5px; color: var(--muted); }
.attempt.replay { background: #fff4dc; color: #7a5200; font-weight: 600; }
.row.waiting .waiting-for { color: var(--wait); }
.empty { color: var(--muted); }
`;
