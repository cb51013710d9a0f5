// Switching an item's mode: asks for a reason, sends If-Match with the version the officer
// saw, and explains a refusal in plain words.

import { blockerText, plainError } from "./errors.js";
import { $, MODE_NAMES, append, h, modeName, replace, show } from "./dom.js";
import { api } from "./session.js";

let item = null;

export function initSwitch(ctx) {
  $("switch-form").addEventListener("submit", (event) => {
    event.preventDefault();
    submit(ctx);
  });
  $("switch-cancel").addEventListener("click", () => $("switch-dialog").close());
}

function describe(current) {
  replace($("switch-item"), `${current.name}（${current.code}）`);
  replace($("switch-current"), `当前：${modeName(current.mode)}，版本 v${current.version}`);
}

export function openSwitch(chosen, preset) {
  item = chosen;
  describe(item);
  const select = $("switch-mode");
  select.replaceChildren();
  for (const [mode, name] of Object.entries(MODE_NAMES)) {
    if (mode !== item.mode) select.append(h("option", { value: mode }, name));
  }
  if (preset && preset !== item.mode) select.value = preset;
  $("switch-reason").value = "";
  show($("switch-problem"), false);
  $("switch-dialog").showModal();
  $("switch-reason").focus();
}

function problem(...children) {
  const box = $("switch-problem");
  replace(box, ...children);
  show(box, true);
}

async function reload(ctx) {
  let fresh;
  try {
    fresh = await ctx.reloadItem(item.code);
  } catch (error) {
    problem(plainError(error));
    return;
  }
  if (!fresh) {
    problem("该事项已不在目录中。");
    return;
  }
  item = fresh;
  describe(item);
  problem(
    `已载入最新版本：当前为「${modeName(item.mode)}」，版本 v${item.version}。`,
    "请确认后再提交。",
  );
}

async function submit(ctx) {
  const mode = $("switch-mode").value;
  const reason = $("switch-reason").value.trim();
  if (!reason) {
    problem("请填写切换原因，它会记入审计日志。");
    return;
  }
  const button = $("switch-submit");
  button.disabled = true;
  try {
    const updated = await api("PUT", `/api/v1/ops/items/${encodeURIComponent(item.code)}/mode`, {
      body: { mode, reason },
      headers: { "if-match": `"${item.version}"` },
    });
    $("switch-dialog").close();
    await ctx.switched(item, updated);
  } catch (error) {
    if (error.code === "mode_blocked") {
      const blockers = Array.isArray(error.details.blockers) ? error.details.blockers : [];
      problem(
        h("p", {}, `「${item.name}」不能切换为「${modeName(mode)}」，因为：`),
        h(
          "ul",
          { class: "blocked" },
          blockers.map((b) => h("li", {}, blockerText(b))),
        ),
        h("p", {}, "请先消除这些阻碍（如以电子证照或上传件替代纸质原件）。"),
      );
    } else if (error.code === "version_mismatch") {
      const again = h("button", { type: "button", onclick: () => reload(ctx) }, "重新载入");
      problem(
        h("p", {}, "该事项在您打开后已被他人修改，为避免覆盖他人的改动，本次切换未执行。"),
        append(h("p", {}), [again]),
      );
    } else {
      problem(plainError(error));
    }
  } finally {
    button.disabled = false;
  }
}
