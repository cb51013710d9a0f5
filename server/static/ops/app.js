// The ops console: signs in, then shows items, KPIs, the audit log and the outbox. It
// speaks only the public API (/api/v1/...) and learns the rest from config.json.

import { initAudit, loadAudit } from "./audit.js";
import { $, h, modeName, replace, show } from "./dom.js";
import { plainError } from "./errors.js";
import { fetchAllItems, fillCategories, initItems, loadItems } from "./items.js";
import { changes, fetchKpis, renderKpis } from "./kpis.js";
import { initOutbox, loadOutbox } from "./outbox.js";
import * as session from "./session.js";
import { initSwitch, openSwitch } from "./switch.js";

const SCREENS = ["loading", "sign-in", "refused", "tabs"];
const VIEWS = ["items", "kpis", "audit", "outbox"];
const LISTS = ["items-list", "kpis-list", "audit-list", "outbox-dead", "outbox-pending"];

let config = null;
let allItems = [];
let indicators = null;

const ctx = {
  openSwitch,
  failed(error, box) {
    if (sessionOver(error)) return;
    replace(box, plainError(error));
    show(box, true);
  },
  notify(text, isError = false) {
    const box = $("notice");
    replace(box, text);
    box.classList.toggle("error", isError);
    show(box, true);
  },
  async reloadItem(code) {
    allItems = await fetchAllItems();
    return allItems.find((i) => i.code === code) || null;
  },
  async switched(before, updated) {
    const said = `已将「${updated.name}」从「${modeName(before.mode)}」切换为「${modeName(updated.mode)}」（版本 v${updated.version}）。`;
    ctx.notify(said);
    const old = indicators;
    await Promise.all([loadItems(ctx), refreshOverview()]);
    const moved = changes(old, indicators || []);
    if (moved.length) ctx.notify(`${said}指标变化：${moved.join("；")}。`);
  },
};

/** Items and indicators together: the KPI suggestions are drawn from the items. */
async function refreshOverview() {
  try {
    const [items, kpis] = await Promise.all([fetchAllItems(), fetchKpis()]);
    allItems = items;
    indicators = kpis;
    fillCategories(items);
    renderKpis(kpis, items, ctx);
  } catch (error) {
    ctx.failed(error, $("kpis-error"));
  }
}

function screen(name) {
  for (const id of SCREENS) show($(id), id === name);
  if (name !== "tabs") for (const view of VIEWS) show($(`view-${view}`), false);
  show($("who"), name === "tabs" || name === "refused");
}

function select(view) {
  for (const button of $("tabs").querySelectorAll("button")) {
    button.setAttribute("aria-selected", String(button.dataset.view === view));
  }
  for (const name of VIEWS) show($(`view-${name}`), name === view);
  if (view === "kpis") refreshOverview();
  if (view === "audit") loadAudit(ctx);
  if (view === "outbox") loadOutbox(ctx);
}

function sessionOver(error) {
  if (error.status === 401) {
    session.signOut();
    toSignIn("登录已过期或已在别处退出，请重新登录。");
    return true;
  }
  return false;
}

function toSignIn(message) {
  for (const id of LISTS) $(id).replaceChildren();
  show($("notice"), false);
  screen("sign-in");
  const box = $("sign-in-error");
  if (message) replace(box, message);
  show(box, Boolean(message));
}

function refuse(user) {
  screen("refused");
  replace(
    $("refused-text"),
    `${user.name}，您已登录（${user.id_number_masked}），但您的账号没有运维权限，服务器拒绝了访问（403 无权访问）。`,
  );
}

async function enter() {
  const { user } = session.current();
  const role = (user.roles || []).includes("ops") ? "运维人员" : "市民";
  replace($("who-name"), `${user.name}（${role}）`);
  try {
    indicators = await fetchKpis();
  } catch (error) {
    if (error.status === 403) return refuse(user);
    if (sessionOver(error)) return;
    ctx.notify(plainError(error), true);
  }
  screen("tabs");
  select("items");
  await Promise.all([loadItems(ctx), refreshOverview()]);
}

async function signInAs(person, button) {
  button.disabled = true;
  show($("sign-in-error"), false);
  try {
    await session.signInAsDemo(config.idp_token_url, person);
    await enter();
  } catch (error) {
    toSignIn(`登录未成功：${plainError(error)}`);
  } finally {
    button.disabled = false;
  }
}

function offerSignIn() {
  const dev = config.environment === "development" && Boolean(config.idp_token_url);
  show($("sign-in-dev"), dev);
  show($("sign-in-prod"), !dev);
  const list = $("demo-identities");
  list.replaceChildren();
  for (const person of config.demo_identities || []) {
    const button = h("button", { type: "button" }, `以 ${person.name} 登录`, h("small", {}, person.note));
    button.addEventListener("click", () => signInAs(person, button));
    list.append(h("li", {}, button));
  }
  const link = $("sign-in-link");
  const url = safeUrl(config.sign_in_url);
  if (url) link.setAttribute("href", url);
  show(link, Boolean(url));
  show($("sign-in-missing"), !dev && !url);
}

function safeUrl(raw) {
  try {
    const url = new URL(raw);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}

// Production: the provincial sign-in sends the officer back to /ops/#identity_token=…;
// the token is taken out of the address at once so it is not kept in the history.
function handedOverToken() {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get("identity_token");
  if (token) history.replaceState(null, "", location.pathname + location.search);
  return token;
}

async function start() {
  initItems(ctx);
  initSwitch(ctx);
  initAudit(ctx);
  initOutbox(ctx);
  for (const button of $("tabs").querySelectorAll("button")) {
    button.addEventListener("click", () => select(button.dataset.view));
  }
  $("sign-out").addEventListener("click", async () => {
    await session.signOut();
    toSignIn("您已退出登录。");
  });
  session.onSessionEnded(() => toSignIn("登录已过期，请重新登录。"));
  try {
    const response = await fetch("config.json", { cache: "no-store" });
    config = await response.json();
  } catch {
    config = { environment: "production", demo_identities: [] };
  }
  offerSignIn();
  const token = handedOverToken();
  if (token) {
    try {
      await session.signIn(token);
    } catch (error) {
      return toSignIn(`登录未成功：${plainError(error)}`);
    }
  }
  if (session.resume()) return enter();
  toSignIn();
}

start();
