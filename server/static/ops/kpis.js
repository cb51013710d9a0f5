// The city's five indicators against their targets, and which items to switch next.

import { $, h, percent, show } from "./dom.js";
import { api } from "./session.js";

const SHOWN = 8;

export async function fetchKpis() {
  return (await api("GET", "/api/v1/ops/kpis")).indicators;
}

/** How many more items the indicator needs to reach its target. */
function shortBy(indicator) {
  if (indicator.met || !indicator.denominator) return 0;
  return Math.max(0, Math.ceil(indicator.target * indicator.denominator) - indicator.numerator);
}

function bar(indicator) {
  const fill = h("span", { class: "fill" });
  fill.style.width = `${Math.min(100, (indicator.value || 0) * 100)}%`;
  const target = h("span", { class: "target", title: `目标 ${percent(indicator.target)}` });
  target.style.left = `${indicator.target * 100}%`;
  return h(
    "div",
    {
      class: `bar ${indicator.met ? "met" : "short"}`,
      role: "img",
      "aria-label": `${indicator.name} ${percent(indicator.value)}，目标 ${percent(indicator.target)}`,
    },
    fill,
    target,
  );
}

// Which items move each indicator, from the ops item list. Only `zero_trip` and `one_id`
// move with a mode switch; the others say what would move them instead.
function suggestions(key, items) {
  const free = (i) => (i.zero_trip_blockers || []).length === 0;
  const paper = (i) => (i.zero_trip_blockers || []).some((b) => b.reason === "paper_original");
  switch (key) {
    case "zero_trip":
      return {
        text: "无阻碍、尚未跑零次的事项，切换为跑零次即可提升：",
        items: items.filter((i) => i.mode !== "zero_trip" && free(i)),
        mode: "zero_trip",
      };
    case "one_id":
      return {
        text: "仍需到现场办理、没有纸质原件的民生事项，切换为跑零次（或最多跑一次）可提升：",
        items: items.filter((i) => i.livelihood && i.mode === "in_person" && free(i)),
        mode: "zero_trip",
        note: items.some((i) => i.livelihood && paper(i))
          ? "含纸质原件的民生事项须先以电子证照替代原件。"
          : "",
      };
    case "online_available":
      return {
        text: "这些事项需省级平台开通网上受理，切换办理方式不能改善：",
        items: items.filter((i) => !i.online),
      };
    case "handheld":
      return {
        text: "这些非涉密事项尚不能掌上办理，需开通移动端办理：",
        items: items.filter((i) => !i.secret && !i.handheld),
      };
    default:
      return { text: "由办件的实际办结情况决定，与办理方式切换无关。", items: [] };
  }
}

function suggestionList(indicator, items, ctx) {
  const advice = suggestions(indicator.key, items);
  const box = h("div", { class: "next" }, h("p", {}, advice.text));
  if (advice.items.length === 0 && indicator.key !== "online_completion") {
    box.append(h("p", { class: "empty" }, "暂无可建议的事项。"));
  }
  const list = h("ul", {});
  for (const item of advice.items.slice(0, SHOWN)) {
    const row = h("li", { "data-code": item.code }, h("span", {}, `${item.name}（${item.code}）`));
    if (advice.mode) {
      row.append(
        h(
          "button",
          { type: "button", onclick: () => ctx.openSwitch(item, advice.mode) },
          "切换为跑零次",
        ),
      );
    }
    list.append(row);
  }
  if (advice.items.length) box.append(list);
  if (advice.items.length > SHOWN) {
    box.append(h("p", { class: "hint" }, `另有 ${advice.items.length - SHOWN} 项未列出。`));
  }
  if (advice.note) box.append(h("p", { class: "hint" }, advice.note));
  return box;
}

function card(indicator, items, ctx) {
  const missing = shortBy(indicator);
  return h(
    "article",
    { class: "card kpi", "data-key": indicator.key },
    h(
      "header",
      {},
      h("h3", {}, indicator.name),
      h("span", { class: indicator.met ? "badge met" : "badge short" }, indicator.met ? "已达标" : "未达标"),
    ),
    h(
      "p",
      { class: "figures" },
      h("strong", { class: "value" }, percent(indicator.value)),
      h("span", { class: "ratio" }, ` ${indicator.numerator} / ${indicator.denominator}`),
      h("span", { class: "goal" }, `  目标 ≥ ${percent(indicator.target)}`),
    ),
    bar(indicator),
    missing ? h("p", { class: "hint" }, `距目标还差 ${missing} 项。`) : null,
    indicator.note ? h("p", { class: "hint" }, indicator.note) : null,
    suggestionList(indicator, items, ctx),
  );
}

export function renderKpis(indicators, items, ctx) {
  show($("kpis-error"), false);
  $("kpis-list").replaceChildren(...indicators.map((i) => card(i, items, ctx)));
}

/** What changed between two readings, for the notice after a switch. */
export function changes(before, after) {
  const old = new Map((before || []).map((i) => [i.key, i]));
  return after
    .filter((i) => old.has(i.key) && old.get(i.key).numerator !== i.numerator)
    .map((i) => {
      const was = old.get(i.key);
      return `${i.name} ${was.numerator}/${was.denominator} → ${i.numerator}/${i.denominator}`;
    });
}
