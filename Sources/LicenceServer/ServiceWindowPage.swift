/// The service-window page (亮证核验): a scanner fills the input and presses Enter; a paste box and,
/// where the browser has BarcodeDetector, the camera do the same. The answer is a large green, red or
/// amber panel with the reason and the licence data, Chinese first. Everything is inline: no
/// external scripts, styles or fonts.
enum ServiceWindowPage {
    static let html = #"""
<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>电子证照核验 · Licence verification</title>
<style>
  :root { font-family: "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", system-ui, sans-serif; color: #1d2733; }
  body { margin: 0; background: #f3f5f8; }
  header { background: #b8141c; color: #fff; padding: 14px 24px; display: flex; align-items: baseline; gap: 16px; }
  header h1 { margin: 0; font-size: 24px; } header span { opacity: .85; }
  main { max-width: 960px; margin: 24px auto; padding: 0 16px; }
  form { display: grid; gap: 10px; background: #fff; padding: 16px; border-radius: 10px; box-shadow: 0 1px 3px rgba(0,0,0,.12); }
  label { font-weight: 600; }
  input, textarea { font: 16px ui-monospace, monospace; padding: 10px; border: 2px solid #c5ccd6; border-radius: 8px; width: 100%; box-sizing: border-box; }
  input:focus, textarea:focus { outline: none; border-color: #b8141c; }
  .buttons { display: flex; gap: 10px; flex-wrap: wrap; }
  button { font-size: 18px; padding: 10px 22px; border-radius: 8px; border: 0; background: #1d4f91; color: #fff; cursor: pointer; }
  button.secondary { background: #5b6675; }
  #verdict { margin-top: 20px; border-radius: 12px; padding: 22px 26px; color: #fff; display: none; }
  #verdict.valid { display: block; background: #1b7f3b; }
  #verdict.invalid { display: block; background: #b3261e; }
  #verdict.warning { display: block; background: #b86e00; }
  #verdict.pending { display: block; background: #5b6675; }
  #verdict .big { font-size: 56px; font-weight: 800; line-height: 1.1; }
  #verdict .big small { font-size: 28px; font-weight: 600; margin-left: 12px; opacity: .9; }
  #verdict .reason { font-size: 22px; margin-top: 8px; } #verdict .reason-en { font-size: 16px; opacity: .9; }
  table { margin-top: 16px; border-collapse: collapse; background: rgba(255,255,255,.12); border-radius: 8px; width: 100%; }
  th, td { text-align: left; padding: 6px 12px; vertical-align: top; } th { white-space: nowrap; font-weight: 600; }
  td { word-break: break-all; }
  video { max-width: 100%; border-radius: 8px; display: none; }
  footer { color: #5b6675; font-size: 13px; text-align: center; margin: 30px 0; }
</style>
</head>
<body>
<header><h1>电子证照核验</h1><span>Electronic licence verification</span></header>
<main>
  <form id="scan-form" autocomplete="off">
    <label for="token">扫描证照二维码 · Scan the licence QR code</label>
    <input id="token" name="token" autofocus placeholder="EL1:…" spellcheck="false">
    <label for="paste">或粘贴证照码 · Or paste the code</label>
    <textarea id="paste" rows="3" placeholder="EL1:…" spellcheck="false"></textarea>
    <div class="buttons">
      <button type="submit" id="verify">核验 Verify</button>
      <button type="button" class="secondary" id="camera" hidden>摄像头扫码 Camera</button>
      <button type="button" class="secondary" id="clear">清除 Clear</button>
    </div>
    <video id="video" playsinline muted></video>
  </form>
  <section id="verdict" aria-live="assertive" data-outcome=""></section>
</main>
<footer>ELicence · 核验结果以登记库实时状态为准 · Answers reflect the registry's current status</footer>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const labels = [["证照名称", "Licence", (l) => l.typeName + " (" + l.type + ")"], ["证照编号", "Number", (l) => l.number],
  ["持证主体", "Holder", (l) => (l.holder.name || "") + " · " + (l.holder.code || "")],
  ["颁证单位", "Issuer", (l) => (l.issuer.name || "") + " · " + (l.issuer.code || "")],
  ["有效期", "Validity", (l) => l.validFrom + " – " + (l.validUntil || "长期 open-ended")],
  ["电子证照标识", "Identifier", (l) => l.id]];
const amber = new Set(["suspended", "not_yet_valid", "status_unavailable", "superseded"]);

function text(tag, content, cls) { const e = document.createElement(tag); e.textContent = content; if (cls) e.className = cls; return e; }

function show(answer) {
  const v = $("verdict");
  v.replaceChildren();
  v.dataset.outcome = answer.outcome;
  v.className = answer.valid ? "valid" : (amber.has(answer.outcome) ? "warning" : "invalid");
  const big = text("div", answer.valid ? "有效" : "无效", "big");
  big.appendChild(text("small", answer.valid ? "VALID" : "NOT VALID · " + answer.outcome));
  v.append(big, text("div", answer.message.zh, "reason"), text("div", answer.message.en, "reason-en"));
  if (answer.licence) {
    const table = document.createElement("table");
    for (const [zh, en, get] of labels) {
      const row = table.insertRow();
      row.appendChild(text("th", zh + " " + en));
      row.appendChild(text("td", get(answer.licence)));
    }
    for (const [name, value] of Object.entries(answer.licence.fields || {})) {
      const row = table.insertRow();
      row.appendChild(text("th", name));
      row.appendChild(text("td", value));
    }
    v.appendChild(table);
  }
}

let latest = 0;      // only the answer to the newest request is shown
let camera = null;   // the camera stream, while scanning

async function verify(token) {
  token = token.trim();
  if (!token) return;
  const mine = ++latest;
  const v = $("verdict");
  if (/[^\x20-\x7e]/.test(token)) {
    // A Chinese input method turns a scanner's keystrokes into composition; nothing useful arrives.
    show({ valid: false, outcome: "input_method", message: { zh: "扫码内容含有中文或全角字符：请把输入法切换到英文后重新扫码。",
      en: "The scan contains non-ASCII characters: switch the keyboard to English input and scan again." } });
    v.className = "warning";
    return;
  }
  v.className = "pending"; v.dataset.outcome = "pending";
  v.replaceChildren(text("div", "核验中… Verifying…", "reason"));
  try {
    const response = await fetch("/v1/verify", { method: "POST", headers: { "Content-Type": "application/json" },
                                                 body: JSON.stringify({ token }) });
    const body = await response.json();
    if (mine !== latest) return;
    if (response.ok) show(body);
    else show({ valid: false, outcome: "request_refused", message: body.message || { zh: "请求被拒绝", en: "Request refused" } });
  } catch (error) {
    if (mine !== latest) return;
    show({ valid: false, outcome: "network_error", message: { zh: "无法连接核验服务。", en: "The verification service cannot be reached." } });
  }
}

function submit() {
  const token = $("token").value.trim() || $("paste").value.trim();
  $("token").value = ""; $("paste").value = "";
  verify(token);
  $("token").focus();
}

$("scan-form").addEventListener("submit", (event) => { event.preventDefault(); submit(); });
$("paste").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); submit(); }
});
// A scanner types wherever the focus is: keys typed outside the two boxes go to the scan input.
document.addEventListener("keydown", (event) => {
  const target = event.target;
  if (target === $("token") || target === $("paste") || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key.length === 1 || event.key === "Enter") $("token").focus();
});
$("token").addEventListener("compositionstart", () => {
  show({ valid: false, outcome: "input_method", message: { zh: "请把输入法切换到英文，再扫码。", en: "Switch the keyboard to English input, then scan." } });
  $("verdict").className = "warning";
});

function stopCamera() {
  if (camera) { camera.getTracks().forEach((t) => t.stop()); camera = null; }
  $("video").style.display = "none";
}

$("clear").addEventListener("click", () => {
  latest++; stopCamera();
  $("token").value = ""; $("paste").value = ""; $("verdict").className = ""; $("token").focus();
});

if (window.isSecureContext && "BarcodeDetector" in window && navigator.mediaDevices) {
  $("camera").hidden = false;
  $("camera").addEventListener("click", async () => {
    try {
      const video = $("video");
      camera = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
      video.srcObject = camera; video.style.display = "block"; await video.play();
      const detector = new BarcodeDetector({ formats: ["qr_code"] });
      const tick = async () => {
        if (!camera) return;
        const codes = await detector.detect(video).catch(() => []);
        if (codes.length) { stopCamera(); verify(codes[0].rawValue); return; }
        requestAnimationFrame(tick);
      };
      tick();
    } catch (error) {
      stopCamera();
      show({ valid: false, outcome: "camera_unavailable", message: { zh: "无法使用摄像头：" + error.message, en: "The camera cannot be used: " + error.message } });
      $("verdict").className = "warning";
    }
  });
}

// A link may carry a token after # (never sent to the server, so never in its logs).
const preset = new URLSearchParams(location.hash.slice(1)).get("token");
if (preset) verify(preset);
</script>
</body>
</html>
"""#
}
