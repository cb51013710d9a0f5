// What an error answer means, in plain Chinese, for the person at the console.

const PLAIN = {
  network: "连不上服务器，请检查网络后重试。",
  forbidden: "您的账号没有运维权限，不能进行此操作。",
  account_disabled: "您的账号已被停用，请联系系统管理员。",
  invalid_token: "登录已过期，请重新登录。",
  refresh_token_reused: "登录凭证已在别处使用，为安全起见已退出，请重新登录。",
  invalid_identity_token: "身份认证未通过或已过期，请重新登录。",
  unknown_person: "身份信息核验未通过。",
  if_match_required: "请求缺少事项版本号，请刷新页面后重试。",
  version_mismatch: "该事项已被他人修改，您看到的不是最新版本。",
  item_not_found: "找不到该事项，它可能已从目录中移除。",
  outbox_row_not_found: "找不到这条投递记录。",
  conflict: "只能重新投递尚未送达的记录，这条记录的状态已经变了。",
  rate_limited: "操作过于频繁，请稍后再试。",
  service_unavailable: "服务暂时不可用，请稍后再试。",
  gateway_unavailable: "省级平台暂时不可用，请稍后再试。",
  gateway_timeout: "省级平台响应超时，请稍后再试。",
  invalid_request: "输入有误，请检查后重试。",
  malformed_json: "请求格式有误，请刷新页面后重试。",
};

const PROBLEMS = {
  "not a version": "版本号无效",
  "unknown mode": "未知的办理方式",
};

export const BLOCKER_REASONS = {
  paper_original: "需提交纸质原件",
  gateway_cannot_take_online: "省级平台不能网上受理",
};

export function blockerText(blocker) {
  const why = BLOCKER_REASONS[blocker.reason] || String(blocker.reason || "");
  return blocker.kind === "material" ? `${why}：${blocker.name}` : why || String(blocker.name);
}

/** One sentence for the error, and what the server said, for whoever has to look into it. */
export function plainError(error) {
  let text = PLAIN[error.code];
  if (!text && error.status >= 500) text = "服务器出错了，请稍后再试。";
  if (!text) text = "操作未成功。";
  const fields = Array.isArray(error.details && error.details.fields) ? error.details.fields : [];
  if (fields.length) {
    const listed = fields.map((f) => `${f.field}：${PROBLEMS[f.problem] || f.problem}`);
    text += `（${listed.join("；")}）`;
  }
  if (error.code !== "network") text += ` [${error.code}]`;
  return text;
}
