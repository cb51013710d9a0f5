// The audit log: newest first, filtered by actor and action, a page at a time.

import { $, h, modeName, show, when } from "./dom.js";
import { api } from "./session.js";

const PAGE = 20;
const ACTIONS = {
  "item.mode_switch": "切换办理方式",
  "outbox.requeue": "重新投递",
  "application.file": "提交办件",
  "auth.login": "登录",
  "auth.refresh": "刷新登录",
  "auth.logout": "退出登录",
  "certificate.list": "查看证照",
  "certificate.present": "亮证",
  "certificate.verify": "核验亮证",
  "upload.accept": "上传材料",
  "user.grant_role": "变更角色",
  "user.disable": "停用账号",
  "system.demo_seeded": "载入演示数据",
};
let cursor = null;
// Only the answer to the latest query is shown: an older one that arrives late is dropped.
let latest = 0;

export function initAudit(ctx) {
  const select = $("audit-action");
  for (const [code, name] of Object.entries(ACTIONS)) {
    select.append(h("option", { value: code }, `${name}（${code}）`));
  }
  $("audit-form").addEventListener("submit", (event) => {
    event.preventDefault();
    loadAudit(ctx);
  });
  select.addEventListener("change", () => loadAudit(ctx));
  $("audit-more").addEventListener("click", () => loadAudit(ctx, true));
}

const FIELDS = { mode: "办理方式", version: "版本", state: "状态", attempts: "尝试次数" };
const STATES = { dead: "投递失败", pending: "等待投递", in_flight: "投递中", delivered: "已送达" };

function shown(key, value) {
  if (key === "mode") return modeName(value);
  if (key === "state") return STATES[value] || String(value);
  return typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
}

// {"mode": "one_trip", "version": 1} → {"mode": "zero_trip", "version": 2} reads as
// "办理方式 最多跑一次 → 跑零次；版本 1 → 2".
function change(entry) {
  const before = entry.before && typeof entry.before === "object" ? entry.before : {};
  const after = entry.after && typeof entry.after === "object" ? entry.after : {};
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  if (keys.length === 0) return null;
  const parts = keys.map((key) => {
    const was = key in before ? shown(key, before[key]) : "—";
    const now = key in after ? shown(key, after[key]) : "—";
    return `${FIELDS[key] || key} ${was} → ${now}`;
  });
  return h("p", { class: "meta change" }, `变更：${parts.join("；")}`);
}

function row(entry) {
  return h(
    "article",
    { class: "card audit", "data-id": entry.id },
    h(
      "header",
      {},
      h("h3", {}, ACTIONS[entry.action] || entry.action),
      h("span", { class: "code" }, entry.action),
    ),
    h("p", { class: "meta" }, `${when(entry.at)} · 操作人 ${entry.actor} · 对象 ${entry.target}`),
    h("p", {}, `结果：${entry.outcome === "ok" ? "成功" : entry.outcome}`),
    entry.reason ? h("p", { class: "reason" }, `原因：${entry.reason}`) : null,
    change(entry),
  );
}

export async function loadAudit(ctx, more = false) {
  const params = new URLSearchParams({ limit: String(PAGE) });
  const actor = $("audit-actor").value.trim();
  if (actor) params.set("actor", actor);
  if ($("audit-action").value) params.set("action", $("audit-action").value);
  if (more && cursor) params.set("cursor", cursor);
  const asked = ++latest;
  let page;
  try {
    page = await api("GET", `/api/v1/ops/audit?${params}`);
  } catch (error) {
    if (asked === latest) ctx.failed(error, $("audit-error"));
    return;
  }
  if (asked !== latest) return;
  show($("audit-error"), false);
  const list = $("audit-list");
  if (!more) list.replaceChildren();
  if (!more && page.items.length === 0) list.append(h("p", { class: "empty" }, "没有符合条件的记录。"));
  for (const entry of page.items) list.append(row(entry));
  cursor = page.next_cursor;
  show($("audit-more"), Boolean(cursor));
}
