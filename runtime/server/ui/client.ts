/// <reference lib="dom" />
/**
 * The session page's script (docs/ui.md). It runs in the browser and is served as this function's source text
 * (assets.ts): type-checked with the rest of akts and shipped compiled in dist/, so a packed tarball has it without
 * a copy step. Everything it uses is therefore declared inside it.
 *
 * Text reaches the page only through `textContent` (`el`), never as HTML, so a session id, an error or a journaled
 * value with markup in it is shown as text. The admin token is kept in sessionStorage (this tab only) and sent in
 * the Authorization header, never in a URL.
 */
export function client(): void {
  const TOKEN = "akts.admin-token";
  const PAGE = 50;
  const LIVE_MS = 1000;
  const app = document.getElementById("app") as HTMLElement;

  type Child = Node | string | null | undefined | false;
  type Attrs = Record<string, string | number | boolean | undefined | ((event: Event) => void)>;

  /** An element with attributes, handlers (`on…`) and children; strings become text nodes. */
  function el(tag: string, attrs: Attrs = {}, ...children: Child[]): HTMLElement {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (typeof value === "function") node.addEventListener(key.slice(2), value);
      else if (value === true) node.setAttribute(key, "");
      else if (value !== undefined && value !== false) node.setAttribute(key, String(value));
    }
    for (const child of children) if (child !== null && child !== undefined && child !== false) node.append(child);
    return node;
  }

  class Refused extends Error {}
  class Unreachable extends Error {}

  /** An admin route's JSON answer; a 401 forgets the token, any other error is thrown with its code and message. */
  async function api(path: string, init: RequestInit = {}): Promise<any> {
    const token = sessionStorage.getItem(TOKEN);
    if (!token) throw new Refused("");
    let res: Response;
    try {
      res = await fetch(path, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` } });
    } catch {
      throw new Unreachable("The server cannot be reached; trying again.");
    }
    const body = await res.json().catch(() => null);
    if (res.status === 401) {
      sessionStorage.removeItem(TOKEN);
      throw new Refused(body?.error?.message ?? "refused");
    }
    if (!res.ok) throw new Error(body?.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${res.status}`);
    return body;
  }

  let live: number | undefined;
  function show(...nodes: Child[]): void {
    window.clearTimeout(live);
    app.replaceChildren(...nodes.filter((n): n is Node | string => n !== null && n !== undefined && n !== false));
  }

  function time(ms: number | undefined): string {
    if (ms === undefined) return "";
    const d = new Date(ms);
    const pad = (n: number, w = 2) => String(n).padStart(w, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  }

  function duration(ms: number): string {
    if (ms < 1000) return `${Math.round(ms)} ms`;
    if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
    if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
    return `${(ms / 3_600_000).toFixed(1)} h`;
  }

  const json = (value: unknown) => (value === undefined ? "undefined" : JSON.stringify(value, null, 2));
  const unfinished = (status: string) => status === "running" || status === "waiting";
  const badge = (status: string) => el("span", { class: `badge ${status}` }, status);

  /** An expandable value: its JSON in a <details>, kept open across live refreshes by `key`. */
  const opened = new Set<string>();
  function expandable(key: string, label: string, value: unknown): HTMLElement {
    const details = el("details", { open: opened.has(key), ontoggle: () => ((details as HTMLDetailsElement).open ? opened.add(key) : opened.delete(key)) }, el("summary", {}, label), el("pre", {}, json(value)));
    return details;
  }

  function login(message?: string): void {
    const input = el("input", { type: "password", id: "token", name: "token", autocomplete: "off", placeholder: "admin token", required: true }) as HTMLInputElement;
    const submit = (event: Event) => {
      event.preventDefault();
      sessionStorage.setItem(TOKEN, input.value.trim());
      void route();
    };
    show(
      el(
        "form",
        { class: "login", onsubmit: submit },
        el("h2", {}, "Sign in"),
        el("p", {}, "Paste the server's admin token: it is in ", el("code", {}, "<store>/admin-token"), " (akts serve prints the path). This tab keeps it until it closes."),
        input,
        el("button", { type: "submit" }, "Sign in"),
        message ? el("p", { class: "error", role: "alert" }, message) : null,
      ),
    );
    input.focus();
  }

  async function route(): Promise<void> {
    const hash = location.hash;
    try {
      if (hash.startsWith("#/s/")) await sessionPage(decodeURIComponent(hash.slice(4)));
      else await listPage(new URLSearchParams(hash.includes("?") ? hash.slice(hash.indexOf("?") + 1) : ""));
    } catch (err) {
      if (err instanceof Refused) return login(err.message ? `The token was refused: ${err.message}` : undefined);
      show(nav(), el("p", { class: "error", role: "alert" }, (err as Error).message));
      // A restarting server comes back: keep asking.
      if (err instanceof Unreachable) live = window.setTimeout(() => void route(), LIVE_MS);
    }
  }

  function nav(): HTMLElement {
    return el("nav", {}, el("a", { href: "#/" }, "All sessions"), el("button", { type: "button", class: "link", onclick: signOut }, "Sign out"));
  }

  function signOut(): void {
    sessionStorage.removeItem(TOKEN);
    login();
  }

  const listHash = (params: Record<string, string | undefined>) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
    return `#/?${q}`;
  };

  async function listPage(params: URLSearchParams): Promise<void> {
    const status = params.get("status") ?? "";
    const trigger = params.get("trigger") ?? "";
    const before = params.get("before") ?? "";
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (status) q.set("status", status);
    if (trigger) q.set("trigger", trigger);
    if (before) q.set("before", before);
    const page: { sessions: any[]; next: string | null } = await api(`/sessions?${q}`);
    const statusField = el(
      "select",
      { name: "status", "aria-label": "status" },
      ...["", "running", "waiting", "completed", "failed", "cancelled"].map((s) => el("option", { value: s, selected: s === status }, s || "any status")),
    ) as HTMLSelectElement;
    const triggerField = el("input", { name: "trigger", placeholder: "trigger", value: trigger, "aria-label": "trigger" }) as HTMLInputElement;
    const filter = (event: Event) => {
      event.preventDefault();
      location.hash = listHash({ status: statusField.value, trigger: triggerField.value.trim() });
    };
    const rows = page.sessions.map((s) =>
      el(
        "tr",
        {},
        el("td", {}, el("a", { href: `#/s/${encodeURIComponent(s.session_id)}`, class: "id" }, s.session_id)),
        el("td", {}, badge(s.status)),
        el("td", {}, s.trigger),
        el("td", {}, s.mode),
        el("td", { class: "num" }, String(s.attempts)),
        el("td", {}, time(s.createdAt)),
        el("td", {}, time(s.updatedAt)),
        el("td", { class: "code" }, s.errorCode ?? ""),
      ),
    );
    show(
      nav(),
      el("h2", {}, "Sessions"),
      el("form", { class: "filters", onsubmit: filter }, statusField, triggerField, el("button", { type: "submit" }, "Filter"), el("button", { type: "button", onclick: () => void route() }, "Refresh")),
      el(
        "table",
        { class: "sessions" },
        el("thead", {}, el("tr", {}, ...["Session", "Status", "Trigger", "Mode", "Attempts", "Created", "Updated", "Error"].map((h) => el("th", {}, h)))),
        el("tbody", {}, ...rows),
      ),
      rows.length === 0 ? el("p", { class: "empty" }, "No sessions.") : null,
      el(
        "p",
        { class: "pager" },
        before ? el("a", { href: listHash({ status, trigger }) }, "Newest") : null,
        page.next ? el("a", { href: listHash({ status, trigger, before: page.next }), rel: "next" }, "Older") : null,
      ),
    );
  }

  /** Live refreshes rebuild the page but keep the actions (a half-typed event) while what they act on is the same. */
  let kept: { key: string; node: HTMLElement } | undefined;

  async function sessionPage(id: string): Promise<void> {
    const hash = location.hash;
    const t = await api(`/sessions/${encodeURIComponent(id)}/timeline`);
    // Moved elsewhere while this was fetched: that page is the one to show.
    if (location.hash !== hash) return;
    const s = t.session;
    const key = `${s.session_id} ${s.status} ${t.waiting?.name ?? ""}`;
    if (kept?.key !== key) kept = { key, node: actions(t) };
    show(
      nav(),
      el("h2", {}, "Session ", el("span", { class: "id" }, s.session_id), " ", badge(s.status)),
      el(
        "dl",
        { class: "summary" },
        ...[
          ["Trigger", s.trigger],
          ["Handler", s.handler],
          ["Mode", s.mode],
          ["Attempts", String(s.attempts)],
          ["Created", time(s.createdAt)],
          ["Updated", time(s.updatedAt)],
        ].flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]),
      ),
      kept.node,
      t.divergence ? divergence(t.divergence) : null,
      t.end ? outcome(t.end, s) : null,
      timeline(t),
      el("section", { class: "event" }, expandable("event", "Trigger event", t.event)),
    );
    if (unfinished(s.status)) live = window.setTimeout(() => void route(), LIVE_MS);
  }

  /**
   * What can be done to the session: one control per action (deliver an event, cancel).
   */
  function actions(t: any): HTMLElement {
    const controls = [deliver(t), cancel(t)].filter((c): c is HTMLElement => c !== null);
    return el("section", { class: "actions" }, ...controls);
  }

  function deliver(t: any): HTMLElement | null {
    if (!unfinished(t.session.status)) return null;
    const name = el("input", { name: "event", value: t.waiting?.name ?? "", placeholder: "event name", required: true, "aria-label": "event name" }) as HTMLInputElement;
    const value = el("textarea", { name: "value", rows: 3, "aria-label": "event value (JSON)" }, "{}") as HTMLTextAreaElement;
    const note = el("p", { class: "note", role: "status" });
    const send = async (event: Event) => {
      event.preventDefault();
      let body: string;
      try {
        body = JSON.stringify(JSON.parse(value.value || "null"));
      } catch (err) {
        note.textContent = `The value is not JSON: ${(err as Error).message}`;
        return;
      }
      const target = `/sessions/${encodeURIComponent(t.session.session_id)}/events/${encodeURIComponent(name.value.trim())}`;
      await act(note, target, { method: "POST", headers: { "content-type": "application/json" }, body }, (sent) => `Delivered as ${sent.event_id}.`);
    };
    return el(
      "form",
      { class: "deliver", onsubmit: send },
      el("h3", {}, "Deliver an event"),
      el("label", {}, "Name ", name),
      el("label", {}, "Value (JSON) ", value),
      el("button", { type: "submit" }, "Deliver"),
      note,
    );
  }

  /** Sends an action's request: the note says what came of it, and the page is drawn again. */
  async function act(note: HTMLElement, target: string, init: RequestInit, said: (answer: any) => string): Promise<void> {
    try {
      note.textContent = said(await api(target, init));
      void route();
    } catch (err) {
      if (err instanceof Refused) return login(`The token was refused: ${err.message}`);
      note.textContent = (err as Error).message;
    }
  }

  /** Asks the session to stop at its next boundary; it ends `cancelled` (the page follows it live). */
  function cancel(t: any): HTMLElement | null {
    if (!unfinished(t.session.status)) return null;
    const note = el("p", { class: "note", role: "status" });
    const send = async (event: Event) => {
      event.preventDefault();
      await act(note, `/sessions/${encodeURIComponent(t.session.session_id)}/cancel`, { method: "POST" }, () => "Cancellation requested; the session stops at its next boundary.");
    };
    return el(
      "form",
      { class: "cancel", onsubmit: send },
      el("h3", {}, "Cancel the session"),
      el("p", {}, "It stops at its next activity, sleep or event with CancelledError; its finally blocks run."),
      el("button", { type: "submit", class: "danger" }, "Cancel session"),
      note,
    );
  }

  function divergence(d: any): HTMLElement {
    return el(
      "section",
      { class: "divergence" },
      el("h3", {}, `Divergence at entry #${d.entry}`),
      el("dl", {}, el("dt", {}, "The journal has"), el("dd", {}, el("code", {}, d.journal)), el("dt", {}, "The code"), el("dd", {}, el("code", {}, d.code))),
    );
  }

  function outcome(end: any, s: any): HTMLElement {
    if (end.cancelled) return el("section", { class: "outcome cancelled" }, el("h3", {}, `Cancelled ${time(end.at)}`), expandable("error", "Error as journaled", end.error));
    if (end.ok) return el("section", { class: "outcome ok" }, el("h3", {}, `Completed ${time(end.at)}`), expandable("result", "Result", end.result));
    const error = end.error ?? {};
    const code = error.code ?? s.errorCode;
    return el(
      "section",
      { class: "outcome failed" },
      el("h3", {}, `Failed ${time(end.at)}`),
      el("p", {}, code ? el("span", { class: "code" }, code) : null, " ", error.message ?? s.error ?? ""),
      error.hint ? el("p", { class: "hint" }, `Hint: ${error.hint}`) : null,
      expandable("error", "Error as journaled", end.error),
    );
  }

  function timeline(t: any): HTMLElement {
    const s = t.session;
    const items: any[] = t.items;
    const t0 = s.createdAt;
    const ends = items.map((i) => (i.kind === "activity" ? i.end : i.kind === "event" ? i.at : i.after));
    const t1 = Math.max(t0 + 1, s.updatedAt, t.end?.at ?? 0, ...ends, unfinished(s.status) ? t.now : 0);
    const span = t1 - t0;
    const pct = (ms: number) => `${(Math.min(Math.max(ms - t0, 0), span) / span) * 100}%`;
    const width = (from: number, to: number) => `max(3px, ${((Math.min(to, t1) - Math.max(from, t0)) / span) * 100}%)`;
    // Placed through the CSSOM: the page's policy refuses style attributes.
    const placed = (node: HTMLElement, left: string, w?: string) => {
      node.style.left = left;
      if (w !== undefined) node.style.width = w;
      return node;
    };
    const bar = (kind: string, from: number, to: number, title: string, extra = "") =>
      placed(el("div", { class: `bar ${kind} ${extra}`, "data-kind": kind, title }), pct(from), width(from, to));
    const mark = (kind: string, at: number, title: string, extra = "") => placed(el("div", { class: `mark ${kind} ${extra}`, "data-kind": kind, title }), pct(at));
    const row = (cls: string, label: Child[], track: Child[], details: Child = null) =>
      el("li", { class: `row ${cls}` }, el("div", { class: "label" }, ...label), el("div", { class: "track" }, ...track), details ? el("div", { class: "details" }, details) : null);

    const rows: HTMLElement[] = [];
    let attempt = 1;
    const attemptRow = (a: any) => {
      const replay = a.replayed > 0;
      rows.push(
        el(
          "li",
          { class: `attempt${replay ? " replay" : ""}`, "data-kind": replay ? "replay" : "attempt" },
          `Attempt ${a.attempt} started ${time(a.at)}`,
          a.attempt > 1 ? (replay ? ` — replay after a crash or restart: ${a.replayed} journaled outcome${a.replayed === 1 ? "" : "s"} answered from the journal` : " — rerun from the start") : "",
        ),
      );
    };
    const attempts: any[] = t.attempts;
    if (attempts[0]) attemptRow(attempts[0]);
    for (const item of items) {
      while (item.attempt > attempt) {
        attempt++;
        const a = attempts.find((x) => x.attempt === attempt);
        if (a) attemptRow(a);
      }
      if (item.kind === "activity") {
        const point = !item.async && item.end === item.start;
        const place = item.place;
        rows.push(
          row(
            item.ok ? "ok" : "failed",
            [
              el("span", { class: "callee" }, item.callee),
              place ? el("span", { class: "place" }, `${place.file}:${place.line}:${place.column}`) : el("span", { class: "place" }, item.site),
              place?.source ? el("code", { class: "source", title: place.source }, place.source) : null,
            ],
            [point ? mark("activity", item.start, `${item.callee}: a value`, item.ok ? "" : "failed") : bar("activity", item.start, item.end, `${item.callee}: ${duration(item.end - item.start)}`, item.ok ? "" : "failed"), el("span", { class: "dur" }, point ? "value" : duration(item.end - item.start))],
            expandable(`seq ${item.seq}`, item.ok ? "Result as journaled" : "Error as journaled", item.ok ? item.value : item.error),
          ),
        );
      } else if (item.kind === "timer") {
        const label = item.event !== undefined ? `timeout of nextEvent("${item.event}")` : "sleep()";
        rows.push(row("timer", [el("span", { class: "callee" }, label), el("span", { class: "place" }, `until ${time(item.deadline)}`)], [bar("timer", item.after, item.deadline, `${label} until ${time(item.deadline)}`)]));
      } else {
        rows.push(
          row(
            item.timedOut ? "failed" : "event",
            [el("span", { class: "callee" }, `nextEvent("${item.name}")`), el("span", { class: "place" }, item.timedOut ? `timed out ${time(item.at)}` : `received ${time(item.at)}`)],
            [mark("event", item.at, `event ${item.name}`, item.timedOut ? "failed" : "")],
            item.timedOut ? null : expandable(`seq ${item.seq}`, "Event as journaled", item.value),
          ),
        );
      }
    }
    while (attempt < attempts.length) attemptRow(attempts[attempt++]);
    if (t.waiting) {
      const w = t.waiting;
      const from = Math.max(t0, ...ends);
      const what = w.kind === "timer" ? `a timer until ${time(w.deadline)}` : w.name !== undefined ? `event "${w.name}"` : "an event (its name is not journaled before it arrives)";
      rows.push(
        row(
          "waiting",
          [el("span", { class: "callee" }, "Waiting for ", el("strong", { class: "waiting-for" }, w.kind === "event" && w.name !== undefined ? w.name : what)), w.deadline ? el("span", { class: "place" }, `until ${time(w.deadline)}`) : null],
          [bar("waiting", from, t1, `waiting for ${what}`)],
        ),
      );
    }
    if (t.end) rows.push(row(t.end.ok ? "ok" : "failed", [el("span", { class: "callee" }, t.end.ok ? "completed" : "failed")], [mark("end", t.end.at, time(t.end.at), t.end.ok ? "" : "failed")]));
    return el(
      "section",
      { class: "timeline" },
      el("h3", {}, "Timeline"),
      el("div", { class: "axis" }, el("span", {}, time(t0)), el("span", {}, `+${duration(span)}`)),
      el("ol", {}, ...rows),
    );
  }

  window.addEventListener("hashchange", () => void route());
  void route();
}
