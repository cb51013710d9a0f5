// Deliveries to the provincial gateway that failed or wait, and putting one back in line.

import { plainError } from "./errors.js";
import { $, h, show, when } from "./dom.js";
import { api } from "./session.js";

const STATES = { dead: "投递失败", pending: "等待投递", in_flight: "投递中", delivered: "已送达" };

export function initOutbox(ctx) {
  $("outbox-refresh").addEventListener("click", () => loadOutbox(ctx));
}

async function requeue(entry, button, ctx) {
  button.disabled = true;
  try {
    const after = await api("POST", `/api/v1/ops/outbox/${encodeURIComponent(entry.id)}/requeue`);
    ctx.notify(`已重新投递 #${after.id}：尝试次数已清零，等待投递。`);
  } catch (error) {
    ctx.notify(`重新投递 #${entry.id} 未成功：${plainError(error)}`, true);
  }
  await loadOutbox(ctx);
}

function row(entry, ctx) {
  const card = h(
    "article",
    { class: "card delivery", "data-id": entry.id },
    h(
      "header",
      {},
      h("h3", {}, `#${entry.id} ${STATES[entry.state] || entry.state}`),
      h("span", { class: "code" }, `办件 ${entry.application_id}`),
    ),
    h("p", {}, `已尝试 ${entry.attempts} 次`),
    h("p", { class: "last-error" }, `最近错误：${entry.last_error || "无"}`),
    h(
      "p",
      { class: "meta" },
      `创建于 ${when(entry.created_at)}`,
      entry.state === "pending" ? ` · 下次尝试 ${when(entry.next_attempt_at)}` : "",
    ),
  );
  const button = h("button", { type: "button", class: "primary requeue" }, "重新投递");
  button.addEventListener("click", () => requeue(entry, button, ctx));
  card.append(button);
  return card;
}

async function fill(state, list, ctx) {
  const page = await api("GET", `/api/v1/ops/outbox?state=${state}&limit=50`);
  list.replaceChildren(...page.items.map((e) => row(e, ctx)));
  if (page.items.length === 0) list.append(h("p", { class: "empty" }, "没有记录。"));
  if (page.next_cursor) list.append(h("p", { class: "hint" }, "仅显示最近 50 条。"));
}

export async function loadOutbox(ctx) {
  try {
    await Promise.all([
      fill("dead", $("outbox-dead"), ctx),
      fill("pending", $("outbox-pending"), ctx),
    ]);
    show($("outbox-error"), false);
  } catch (error) {
    ctx.failed(error, $("outbox-error"));
  }
}
