// The items view: search and filters, each item's mode, blockers and last change.

import { blockerText } from "./errors.js";
import { $, append, h, modeName, show, when } from "./dom.js";
import { api } from "./session.js";

const PAGE = 50;
let cursor = null;
// Only the answer to the latest query is shown: an older one that arrives late is dropped.
let latest = 0;

export function initItems(ctx) {
  $("items-form").addEventListener("submit", (event) => {
    event.preventDefault();
    loadItems(ctx);
  });
  for (const id of ["items-category", "items-mode"]) {
    $(id).addEventListener("change", () => loadItems(ctx));
  }
  $("items-more").addEventListener("click", () => loadItems(ctx, true));
}

/** Every item, page after page: the KPI suggestions and the category list need them all. */
export async function fetchAllItems() {
  const all = [];
  let next = null;
  do {
    const params = new URLSearchParams({ limit: "100" });
    if (next) params.set("cursor", next);
    const page = await api("GET", `/api/v1/ops/items?${params}`);
    all.push(...page.items);
    next = page.next_cursor;
  } while (next);
  return all;
}

export function fillCategories(items) {
  const select = $("items-category");
  const chosen = select.value;
  const categories = [...new Set(items.map((i) => i.category))].sort();
  select.replaceChildren(h("option", { value: "" }, "全部类别"));
  for (const category of categories) select.append(h("option", { value: category }, category));
  select.value = categories.includes(chosen) ? chosen : "";
}

export async function loadItems(ctx, more = false) {
  const params = new URLSearchParams({ limit: String(PAGE) });
  const q = $("items-q").value.trim();
  if (q) params.set("q", q);
  if ($("items-category").value) params.set("category", $("items-category").value);
  if ($("items-mode").value) params.set("mode", $("items-mode").value);
  if (more && cursor) params.set("cursor", cursor);
  const asked = ++latest;
  let page;
  try {
    page = await api("GET", `/api/v1/ops/items?${params}`);
  } catch (error) {
    if (asked === latest) ctx.failed(error, $("items-error"));
    return;
  }
  if (asked !== latest) return;
  show($("items-error"), false);
  const list = $("items-list");
  if (!more) list.replaceChildren();
  if (!more && page.items.length === 0) {
    list.append(h("p", { class: "empty" }, "没有符合条件的事项。"));
  }
  for (const item of page.items) list.append(itemCard(item, ctx));
  cursor = page.next_cursor;
  show($("items-more"), Boolean(cursor));
}

function lastChange(item) {
  if (!item.mode_changed_at) return "最近变更：无（沿用省级目录的办理方式）";
  return [
    `最近变更：${when(item.mode_changed_at)}，操作人 ${item.mode_changed_by || "—"}，`,
    `原因：${item.mode_reason || "—"}`,
  ].join("");
}

function blockerList(item) {
  const blockers = item.zero_trip_blockers || [];
  if (blockers.length === 0) return h("p", { class: "ok" }, "无阻碍：可切换为跑零次");
  return h(
    "div",
    { class: "blockers" },
    h("span", {}, "跑零次阻碍："),
    h(
      "ul",
      {},
      blockers.map((b) => h("li", {}, blockerText(b))),
    ),
  );
}

function itemCard(item, ctx) {
  const card = h(
    "article",
    { class: "card item", "data-code": item.code },
    h(
      "header",
      {},
      h("h3", { class: "item-name" }, item.name),
      h("span", { class: "code" }, item.code),
    ),
    h("p", { class: "meta" }, `${item.category} · ${item.department}`),
    h(
      "p",
      {},
      "办理方式：",
      h("span", { class: `mode mode-${item.mode}` }, modeName(item.mode)),
      h("span", { class: "version" }, ` 版本 v${item.version}`),
    ),
  );
  append(card, [
    blockerList(item),
    h("p", { class: "changed" }, lastChange(item)),
    h(
      "button",
      { type: "button", class: "primary switch", onclick: () => ctx.openSwitch(item) },
      "切换办理方式",
    ),
  ]);
  return card;
}
