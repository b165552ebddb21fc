/// The link that opens the service-window page on one token and verifies it at once:
/// `<public URL>/#token=<the token, percent-encoded>`. A token holds spaces, `%`, `+`, `/` and `:`,
/// so it is encoded as JavaScript's `encodeURIComponent` would.
public enum ServiceWindowLink {
    public static func make(publicURL: String, token: String) -> String {
        var base = publicURL
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/#token=" + encode(token)
    }

    /// Percent-encodes every byte but the unreserved characters of RFC 3986.
    static func encode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(UnicodeScalar(byte))
            default:
                let hex = Array("0123456789ABCDEF")
                out += "%" + String(hex[Int(byte >> 4)]) + String(hex[Int(byte & 15)])
            }
        }
        return out
    }
}

/// The service-window page (亮证核验): a scanner fills the input and presses Enter; a paste box and,
/// where the browser has BarcodeDetector, the camera do the same. The answer is a large green, red or
/// amber panel with the reason and the licence data, Chinese first: green valid, red not valid (a
/// forgery, a revoked licence), amber "scan again" or "ask the holder" (an incomplete scan, an expired
/// presentation code, a suspended licence). A window may sign in as its agency with a window
/// credential; its session is an HttpOnly cookie, and the page keeps only the session's CSRF token,
/// in memory. Scripts and styles are files of their own (`/window.js`, `/window.css`): the page's
/// Content-Security-Policy allows no inline code. A link opens it on a token (``ServiceWindowLink``).
enum ServiceWindowPage {
    static let html = #"""
<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>电子证照核验 · Licence verification</title>
<link rel="stylesheet" href="/window.css">
<link rel="icon" href="/wallet-icon.svg" type="image/svg+xml">
<script src="/window.js" defer></script>
</head>
<body>
<header>
  <h1>电子证照核验</h1><span>Electronic licence verification</span>
  <div id="session" class="session">
    <span id="session-name">未登录窗口 · Window not signed in</span>
    <button type="button" class="link" id="sign-in-open">窗口登录 · Sign in</button>
    <button type="button" class="link" id="sign-out" hidden>退出 · Sign out</button>
  </div>
</header>
<main>
  <form id="sign-in" class="panel" autocomplete="off" hidden>
    <label for="credential">窗口凭证 · Window credential</label>
    <input id="credential" name="credential" type="password" placeholder="elw_…" spellcheck="false">
    <p class="hint">由本部门管理员用 <code>elicence windows add</code> 生成。登录后，本窗口的核验记入本部门的用证记录，不受匿名限流。
      <span lang="en">Made by your agency's administrator with <code>elicence windows add</code>. Once signed in, this window's scans are your agency's usage records and are not limited as anonymous.</span></p>
    <div class="buttons">
      <button type="submit" id="sign-in-submit">登录 · Sign in</button>
      <button type="button" class="secondary" id="sign-in-cancel">取消 · Cancel</button>
    </div>
    <div id="sign-in-error" class="error" hidden></div>
  </form>
  <form id="scan-form" class="panel" autocomplete="off">
    <label for="token">扫描证照二维码或亮证码 · Scan the licence QR or presentation code</label>
    <input id="token" name="token" autofocus placeholder="EL1:… / EL1P:…" spellcheck="false">
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
</body>
</html>
"""#

    static let css = #"""
[hidden] { display: none !important; }
:root { font-family: "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", system-ui, sans-serif; color: #1d2733; }
body { margin: 0; background: #f3f5f8; }
header { background: #b8141c; color: #fff; padding: 14px 24px; display: flex; align-items: baseline; gap: 16px; flex-wrap: wrap; }
header h1 { margin: 0; font-size: 24px; } header > span { opacity: .85; }
.session { margin-left: auto; display: flex; gap: 10px; align-items: baseline; font-size: 15px; }
.session.signed-in #session-name { font-weight: 700; }
button.link { background: transparent; border: 1px solid rgba(255,255,255,.7); color: #fff; font-size: 14px; padding: 4px 10px; }
main { max-width: 960px; margin: 24px auto; padding: 0 16px; }
.panel { display: grid; gap: 10px; background: #fff; padding: 16px; border-radius: 10px; box-shadow: 0 1px 3px rgba(0,0,0,.12); margin-bottom: 16px; }
label { font-weight: 600; }
input, textarea { font: 16px ui-monospace, monospace; padding: 10px; border: 2px solid #c5ccd6; border-radius: 8px; width: 100%; box-sizing: border-box; }
input:focus, textarea:focus { outline: none; border-color: #b8141c; }
.hint { color: #5b6675; font-size: 14px; margin: 0; } .hint span { display: block; margin-top: 2px; }
.error { background: #fdecea; color: #8c1d18; border-radius: 8px; padding: 10px 12px; }
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
#verdict .since, #verdict .authority, #verdict .presentation { font-size: 18px; margin-top: 8px; font-weight: 600; }
table { margin-top: 16px; border-collapse: collapse; background: rgba(255,255,255,.12); border-radius: 8px; width: 100%; }
th, td { text-align: left; padding: 6px 12px; vertical-align: top; } th { white-space: nowrap; font-weight: 600; }
td { word-break: break-all; }
video { max-width: 100%; border-radius: 8px; display: none; }
footer { color: #5b6675; font-size: 13px; text-align: center; margin: 30px 0; }
"""#

    static let javascript = #"""
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const labels = [["证照名称", "Licence", (l) => l.typeName + " (" + l.type + ")"], ["证照编号", "Number", (l) => l.number],
    ["持证主体", "Holder", (l) => (l.holder.name || "") + " · " + (l.holder.code || "")],
    ["颁证单位", "Issuer", (l) => (l.issuer.name || "") + " · " + (l.issuer.code || "")],
    ["有效期", "Validity", (l) => l.validFrom + " – " + (l.validUntil || "长期 open-ended")],
    ["电子证照标识", "Identifier", (l) => l.id]];
  // Amber: nothing is wrong with the licence that the clerk can see; scan again, or ask the holder.
  const amber = new Set(["suspended", "not_yet_valid", "status_unavailable", "superseded", "presentation_expired", "presentation_replayed"]);
  // A scan that broke before the signature could be read: the scanner missed characters.
  const incompleteLayers = new Set(["prefix", "base45", "zlib", "cbor"]);
  const STATUS = { revoked: ["已吊销", "revoked"], suspended: ["已中止", "suspended"] };

  function text(tag, content, cls) { const e = document.createElement(tag); e.textContent = content; if (cls) e.className = cls; return e; }
  const when = (iso) => { const d = new Date(iso); return Number.isNaN(d.getTime()) ? iso : d.toLocaleString("zh-CN", { hour12: false }); };

  function show(answer) {
    const v = $("verdict");
    v.replaceChildren();
    v.dataset.outcome = answer.outcome;
    if (answer.outcome === "malformed" && incompleteLayers.has(answer.layer)) {
      v.className = "warning";
      v.dataset.incomplete = "true";
      const big = text("div", "扫描不完整", "big");
      big.appendChild(text("small", "incomplete scan"));
      v.append(big, text("div", "请重新扫描。如多次失败，请让持证人调亮屏幕或刷新出示码。", "reason"),
        text("div", "Scan again. If it keeps failing, ask the holder to brighten the screen or refresh the code.", "reason-en"));
      return;
    }
    delete v.dataset.incomplete;
    v.className = answer.valid ? "valid" : (amber.has(answer.outcome) ? "warning" : "invalid");
    const big = text("div", answer.valid ? "有效" : "无效", "big");
    big.appendChild(text("small", answer.valid ? "VALID" : "NOT VALID"));
    v.append(big, text("div", answer.message.zh, "reason"), text("div", answer.message.en, "reason-en"));
    const status = STATUS[answer.outcome];
    if (status && answer.statusSince) {
      const line = text("div", "自 " + when(answer.statusSince) + " 起" + status[0] + " · " + status[1] + " since " + answer.statusSince, "since");
      line.id = "status-since";
      v.appendChild(line);
    }
    if (answer.authority) {
      // A licence of another authority (跨省互认): say whose trust list vouches for it.
      const a = answer.authority;
      const line = text("div", "跨省互认 · 认证机构 " + a.displayName + "（" + a.code + "）· vouched for by " + a.name, "authority");
      line.dataset.authority = a.name;
      v.appendChild(line);
    }
    if (answer.presentation) {
      const p = answer.presentation;
      const line = text("div", "亮证 · 持证人于 " + when(p.presentedAt) + " 出示（设备 " + p.device + "）；出示信息：" +
        (p.disclosed.length ? p.disclosed.join("、") : "仅有效性 validity only") + " · shown by the holder's phone", "presentation");
      line.id = "presentation";
      v.appendChild(line);
    }
    if (answer.licence) {
      const table = document.createElement("table");
      for (const [zh, en, get] of labels) {
        const row = table.insertRow();
        row.appendChild(text("th", zh + " " + en));
        // A revoked or suspended licence's validity period no longer applies: its status is shown instead.
        if (en === "Validity" && status) {
          row.appendChild(text("td", status[0] + (answer.statusSince ? "（自 " + when(answer.statusSince) + " 起）" : "") +
            "，有效期不再适用 · " + status[1] + "; its validity period no longer applies"));
          row.id = "validity";
          continue;
        }
        const cell = text("td", get(answer.licence));
        if (en === "Validity") row.id = "validity";
        row.appendChild(cell);
      }
      for (const [name, value] of Object.entries(answer.licence.fields || {})) {
        const row = table.insertRow();
        row.appendChild(text("th", name));
        row.appendChild(text("td", value));
      }
      v.appendChild(table);
    }
  }

  // The window's session: the CSRF token lives only in this page's memory.
  let session = null;
  function showSession() {
    const box = $("session");
    box.classList.toggle("signed-in", !!session);
    $("session-name").textContent = session ? session.agencyName + " · 窗口已登录 signed in" : "未登录窗口 · Window not signed in";
    $("sign-in-open").hidden = !!session;
    $("sign-out").hidden = !session;
    box.dataset.agency = session ? session.agency : "";
  }
  async function loadSession() {
    try {
      const response = await fetch("/v1/window/session", { cache: "no-store" });
      const answer = response.ok ? await response.json() : null;
      session = answer && answer.signedIn ? answer : null;
    } catch (error) { session = null; }
    showSession();
  }
  $("sign-in-open").addEventListener("click", () => { $("sign-in").hidden = false; $("credential").focus(); });
  $("sign-in-cancel").addEventListener("click", () => { $("sign-in").hidden = true; $("token").focus(); });
  $("sign-in").addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("sign-in-error");
    error.hidden = true;
    try {
      const response = await fetch("/v1/window/session", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ credential: $("credential").value.trim() }) });
      const body = await response.json();
      if (!response.ok) throw body.message || { zh: "登录失败。", en: "Sign-in failed." };
      session = body;
      $("credential").value = "";
      $("sign-in").hidden = true;
      showSession();
      $("token").focus();
    } catch (message) {
      error.textContent = (message.zh || "无法连接服务。") + " · " + (message.en || "The service cannot be reached.");
      error.hidden = false;
    }
  });
  $("sign-out").addEventListener("click", async () => {
    const headers = session ? { "X-CSRF-Token": session.csrfToken } : {};
    await fetch("/v1/window/session", { method: "DELETE", headers }).catch(() => {});
    session = null;
    showSession();
  });

  let latest = 0;      // only the answer to the newest request is shown
  let camera = null;   // the camera stream, while scanning

  async function post(token) {
    const headers = { "Content-Type": "application/json" };
    if (session) headers["X-CSRF-Token"] = session.csrfToken;
    return fetch("/v1/verify", { method: "POST", headers, body: JSON.stringify({ token }) });
  }

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
      let response = await post(token);
      if (response.status === 403) {
        // The session was renewed in another tab: fetch its token and try once more.
        await loadSession();
        response = await post(token);
      }
      const body = await response.json();
      if (mine !== latest) return;
      if (response.ok) show(body);
      else {
        show({ valid: false, outcome: "request_refused", message: body.message || { zh: "请求被拒绝", en: "Request refused" } });
        v.className = "warning";
      }
    } catch (error) {
      if (mine !== latest) return;
      show({ valid: false, outcome: "network_error", message: { zh: "无法连接核验服务。", en: "The verification service cannot be reached." } });
      v.className = "warning";
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
  // A scanner types wherever the focus is: keys typed outside the boxes go to the scan input.
  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (target === $("token") || target === $("paste") || target === $("credential") || event.ctrlKey || event.metaKey || event.altKey) return;
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

  // A link may carry a token after #token= (never sent to the server, so never in its logs). The links
  // ELicence prints percent-encode it; a raw token pasted after #token= is taken too: a browser
  // encodes only its spaces there, and a token starts EL1: where an encoded one starts EL1%3A.
  function tokenFromFragment(hash) {
    if (!hash.startsWith("#token=")) return null;
    const value = hash.slice("#token=".length);
    if (/^EL1P?:/.test(value)) return value.replace(/%20/g, " ");
    try { return decodeURIComponent(value); } catch (error) { return value; }
  }
  function verifyFragment() {
    const preset = tokenFromFragment(location.hash);
    if (preset) verify(preset);
  }
  window.addEventListener("hashchange", verifyFragment);
  loadSession().then(verifyFragment);
})();
"""#
}
