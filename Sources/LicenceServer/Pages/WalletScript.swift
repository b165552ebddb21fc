/// `/wallet.js`: the wallet page's program. The device key is a WebCrypto P-256 key made with
/// `extractable: false` and kept in IndexedDB (the browser never hands out its private half); every
/// request to `/v1/wallet/…` carries a DPoP proof signed with it (RFC 9449). Presentation codes are
/// made here: CBOR (RFC 8949), COSE_Sign1 (RFC 9052) and base45 (RFC 9285), as
/// ``PresentationCode`` reads them. The licences last fetched stay in IndexedDB for use offline.
/// Pages are built with DOM calls, never from HTML strings, so no text from a licence can become markup.
enum WalletScript {
    static let javascript = #"""
"use strict";
(function () {
  const app = document.getElementById("app");
  const network = document.getElementById("network");
  const encoder = new TextEncoder();
  // Seconds a presentation code lives, and how often the page makes a new one.
  const LIFETIME = 90, REFRESH = 30, MAX_LENGTH = 221;

  // ---- IndexedDB: one object store of keyed values.
  let database = null;
  function db() {
    if (database) return database;
    database = new Promise((resolve, reject) => {
      const open = indexedDB.open("elicence-wallet", 1);
      open.onupgradeneeded = () => open.result.createObjectStore("kv");
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    return database;
  }
  async function store(mode, work) {
    const handle = await db();
    return new Promise((resolve, reject) => {
      const transaction = handle.transaction("kv", mode);
      const request = work(transaction.objectStore("kv"));
      transaction.oncomplete = () => resolve(request ? request.result : undefined);
      transaction.onerror = () => reject(transaction.error);
    });
  }
  const load = (key) => store("readonly", (kv) => kv.get(key));
  const save = (key, value) => store("readwrite", (kv) => kv.put(value, key));
  const forgetAll = () => store("readwrite", (kv) => kv.clear());

  // ---- Bytes.
  function base64url(bytes) {
    let text = "";
    for (const byte of bytes) text += String.fromCharCode(byte);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function fromBase64(text) {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  }
  const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  const random = (count) => crypto.getRandomValues(new Uint8Array(count));

  // ---- CBOR (RFC 8949 §4.2 deterministic encoding of what presentation codes hold).
  class Tagged { constructor(tag, value) { this.tag = tag; this.value = value; } }
  function head(major, n, out) {
    if (n < 24) out.push(major << 5 | n);
    else if (n < 0x100) out.push(major << 5 | 24, n);
    else if (n < 0x10000) out.push(major << 5 | 25, n >> 8, n & 255);
    else if (n < 0x100000000) out.push(major << 5 | 26, (n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
    else throw new Error("CBOR: integer too large");
  }
  function cbor(value, out = []) {
    if (typeof value === "number") {
      if (!Number.isInteger(value)) throw new Error("CBOR: only integers");
      if (value >= 0) head(0, value, out); else head(1, -1 - value, out);
    } else if (value instanceof Uint8Array) {
      head(2, value.length, out); for (const b of value) out.push(b);
    } else if (typeof value === "string") {
      const bytes = encoder.encode(value); head(3, bytes.length, out); for (const b of bytes) out.push(b);
    } else if (Array.isArray(value)) {
      head(4, value.length, out); for (const item of value) cbor(item, out);
    } else if (value instanceof Map) {
      // Keys here are small integers, given in ascending order: already the deterministic order.
      head(5, value.size, out); for (const [k, v] of value) { cbor(k, out); cbor(v, out); }
    } else if (value instanceof Tagged) {
      head(6, value.tag, out); cbor(value.value, out);
    } else throw new Error("CBOR: cannot encode " + typeof value);
    return out;
  }
  const bytesOf = (value) => Uint8Array.from(cbor(value));

  // ---- base45 (RFC 9285).
  const BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
  function base45(bytes) {
    let out = "";
    for (let i = 0; i + 1 < bytes.length; i += 2) {
      let n = bytes[i] * 256 + bytes[i + 1];
      out += BASE45[n % 45]; n = Math.floor(n / 45);
      out += BASE45[n % 45] + BASE45[Math.floor(n / 45)];
    }
    if (bytes.length % 2) {
      const n = bytes[bytes.length - 1];
      out += BASE45[n % 45] + BASE45[Math.floor(n / 45)];
    }
    return out;
  }

  // ---- The device key and its proofs.
  const ES256 = { name: "ECDSA", hash: "SHA-256" };
  async function sign(key, bytes) { return new Uint8Array(await crypto.subtle.sign(ES256, key, bytes)); }
  async function newDevice() {
    const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
    const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
    const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
    const id = new Uint8Array(await crypto.subtle.digest("SHA-256", spki)).slice(0, 8);
    return { id: hex(id), privateKey: pair.privateKey, jwk: { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y } };
  }

  // The server's clock minus this phone's, from the Date header of the last answer: codes and proofs
  // carry the server's time even when the phone's clock is wrong.
  let clockOffset = 0;
  const now = () => Math.floor(Date.now() / 1000) + clockOffset;
  function noteClock(response) {
    const date = Date.parse(response.headers.get("Date") || "");
    if (!Number.isNaN(date)) clockOffset = Math.round((date - Date.now()) / 1000);
  }

  async function dpop(device, method, path) {
    const header = { typ: "dpop+jwt", alg: "ES256", jwk: device.jwk };
    const claims = { jti: base64url(random(16)), htm: method, htu: location.origin + path, iat: now() };
    const input = base64url(encoder.encode(JSON.stringify(header))) + "." + base64url(encoder.encode(JSON.stringify(claims)));
    return input + "." + base64url(await sign(device.privateKey, encoder.encode(input)));
  }

  class Refusal extends Error {
    constructor(status, problem) {
      const message = problem && problem.message ? problem.message : { zh: "服务暂时无法处理请求。", en: "The service could not answer (" + status + ")." };
      super(message.en);
      this.status = status; this.type = problem && problem.type ? problem.type.split("/").pop() : ""; this.bilingual = message;
    }
  }
  async function call(device, method, path, body) {
    const headers = { "DPoP": await dpop(device, method, path), "Accept": "application/json" };
    if (body) headers["Content-Type"] = "application/json";
    const response = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined, cache: "no-store", credentials: "omit" });
    noteClock(response);
    const answer = await response.json().catch(() => null);
    if (!response.ok) throw new Refusal(response.status, answer);
    return answer;
  }

  // ---- Presentation codes: EL1P: + base45(COSE_Sign1 {1: -7, 4: device id} {1: licence, 2: iat, 3: exp, 4: nonce[, 5: fields]}).
  async function presentation(device, licence, fields) {
    const iat = now();
    const payload = new Map([[1, fromBase64(licence.presentationID)], [2, iat], [3, iat + LIFETIME], [4, random(8)]]);
    const all = licence.disclosable.every((name) => fields.includes(name));
    if (!all) payload.set(5, fields);
    const protectedBytes = bytesOf(new Map([[1, -7], [4, Uint8Array.from(device.id.match(/../g), (h) => parseInt(h, 16))]]));
    const payloadBytes = bytesOf(payload);
    const toBeSigned = bytesOf(["Signature1", protectedBytes, new Uint8Array(0), payloadBytes]);
    const signature = await sign(device.privateKey, toBeSigned);
    const text = "EL1P:" + base45(bytesOf(new Tagged(18, [protectedBytes, new Map(), payloadBytes, signature])));
    return { text, expires: iat + LIFETIME };
  }

  // ---- Building the page (DOM calls only).
  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (name === "onclick" || name === "onsubmit" || name === "onchange") node.addEventListener(name.slice(2), value);
      else if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children.flat(4)) if (child !== null && child !== undefined) node.append(child);
    return node;
  }
  const bi = (zh, en) => [zh, el("small", { lang: "en" }, " · " + en)];
  function show(...nodes) {
    stopShowing();
    app.replaceChildren(...nodes.flat(2).filter((node) => node !== null && node !== undefined));
    window.scrollTo(0, 0);
  }
  function errorBox(error) {
    const message = error instanceof Refusal ? error.bilingual
      : { zh: "无法连接服务，请检查网络后重试。", en: "The service cannot be reached; check the network and try again." };
    return el("div", { class: "error", role: "alert", "data-problem": error instanceof Refusal ? error.type : "network" },
      message.zh, el("br"), el("span", { lang: "en" }, message.en));
  }
  function setOffline(offline, at) {
    network.hidden = !offline;
    if (offline && at) network.textContent = "离线 · Offline — " + new Date(at).toLocaleString("zh-CN");
  }

  const STATUS = {
    valid: ["有效", "Valid"], suspended: ["已暂停", "Suspended"], revoked: ["已撤销", "Revoked"],
    superseded: ["已换发", "Superseded"], expired: ["不在有效期内", "Not in its validity period"],
  };
  const stateOf = (licence) => (licence.status === "valid" && !licence.valid ? "expired" : licence.status);
  const badge = (licence) => { const [zh, en] = STATUS[stateOf(licence)] || [licence.status, licence.status];
    return el("span", { class: "badge " + stateOf(licence), "data-status": stateOf(licence) }, zh + " · " + en); };
  const ACTION = {
    verify: ["核验", "verified"], read: ["查阅", "read"], holder_lookup: ["一号查询", "looked up by holder number"],
    usage_read: ["查看用证记录", "read the usage records"], present: ["亮证核验", "presentation verified"],
  };

  // ---- Views.
  function enrolView(message, code) {
    const input = el("input", { type: "text", id: "code", name: "code", autocomplete: "off", spellcheck: "false",
      placeholder: "XXXX-XXXX-XXXX-XXXX-XXXX", "aria-label": "登记码 enrolment code", maxlength: "40" });
    if (code) input.value = code;
    const form = el("form", { id: "enrol", onsubmit: (event) => { event.preventDefault(); enrol(input.value); } },
      el("label", { for: "code" }, ...bi("一次性登记码", "One-time enrolment code")), input,
      el("button", { type: "submit" }, "登记本设备 · Enrol this phone"));
    show(el("h2", {}, ...bi("登记本设备", "Enrol this phone")), message || null,
      el("div", { class: "card" },
        el("p", {}, "请输入发证机关给您的登记码，或打开登记链接。登记后，本机可查看您名下的全部证照。"),
        el("p", { lang: "en", class: "sub" }, "Type the code the issuing agency gave you, or open the enrolment link. Once enrolled, this phone shows every licence in your name."),
        form));
  }

  async function enrol(code) {
    const pending = el("p", { class: "note" }, "正在登记… Enrolling…");
    app.append(pending);
    try {
      const device = await newDevice();
      const label = (navigator.userAgentData && navigator.userAgentData.platform) || navigator.platform || "browser";
      const answer = await call(device, "POST", "/v1/wallet/enrol", { code, label: String(label).slice(0, 80) });
      await save("device", { id: answer.device, privateKey: device.privateKey, jwk: device.jwk, holderCode: answer.holderCode });
      await refresh();
    } catch (error) {
      enrolView(errorBox(error), code);
    }
  }

  let current = { device: null, licences: null, usage: null, fetchedAt: null, offline: false };

  async function refresh() {
    const device = await load("device");
    if (!device) return enrolView();
    current.device = device;
    const cached = await load("licences");
    if (cached) { current.licences = cached.items; current.fetchedAt = cached.fetchedAt; current.holderCode = cached.holderCode; }
    try {
      const answer = await call(device, "GET", "/v1/wallet/licences");
      current.licences = answer.items; current.fetchedAt = Date.now(); current.holderCode = answer.holderCode; current.offline = false;
      await save("licences", { items: answer.items, fetchedAt: current.fetchedAt, holderCode: answer.holderCode });
    } catch (error) {
      if (error instanceof Refusal && error.type === "unknown-device") {
        await forgetAll();
        return enrolView(errorBox(error));
      }
      current.offline = true;
      if (!current.licences) return show(errorBox(error), el("div", { class: "actions" }, el("button", { onclick: refresh }, "重试 · Try again")));
    }
    setOffline(current.offline, current.fetchedAt);
    listView();
  }

  function tabs(active) {
    const tab = (name, zh, en, go) => el("button", { "aria-pressed": String(active === name), "data-tab": name, onclick: go }, zh + " · " + en);
    return el("nav", { class: "tabs" }, tab("licences", "证照", "Licences", listView), tab("usage", "用证记录", "Usage", usageView),
      tab("device", "本设备", "This phone", deviceView));
  }

  function listView() {
    const items = current.licences || [];
    const cards = items.map((licence) => el("button", { class: "card licence", "data-licence": licence.id, onclick: () => licenceView(licence) },
      el("div", { class: "title" }, licence.typeName, badge(licence)),
      el("div", { class: "sub" }, licence.number + " · " + licence.issuerName),
      el("div", { class: "sub" }, "有效期 Valid " + licence.validFrom + " – " + (licence.validUntil || "长期 no end"))));
    show(tabs("licences"), el("h2", {}, ...bi("我的证照", "My licences")),
      cards.length ? cards : el("p", { class: "note" }, "您名下暂无证照；发证后会显示在这里。 · No licences in your name yet; they appear here once issued."));
  }

  function licenceView(licence) {
    const rows = [["证照类型", "Type", licence.typeName], ["证照编号", "Number", licence.number], ["持证主体", "Holder", licence.holderName],
      ["发证机关", "Issuer", licence.issuerName], ["有效期", "Validity", licence.validFrom + " – " + (licence.validUntil || "长期 no end")]];
    if (licence.relatedMatter) rows.push(["关联事项", "Related matter", licence.relatedMatter]);
    for (const [name, value] of Object.entries(licence.fields || {})) rows.push([name, "", value]);
    const canShow = licence.valid && licence.presentationID && current.device;
    show(el("h2", {}, licence.typeName, badge(licence)),
      el("div", { class: "card face" }, el("dl", {}, rows.map(([zh, en, value]) => [el("dt", {}, zh, en ? el("small", { lang: "en" }, " " + en) : null), el("dd", {}, value)]))),
      el("div", { class: "actions" },
        canShow ? el("button", { class: "primary", id: "present", onclick: () => presentView(licence) }, "出示 · Show at the window") : null,
        el("button", { class: "secondary", onclick: listView }, "返回 · Back")),
      licence.qr ? el("div", { class: "card qr" },
        el("p", { class: "sub" }, "静态二维码（可离线出示；窗口核验时建议使用上方“出示”） · Static QR code (works offline; at a window, prefer “Show”)"),
        el("img", { src: "data:image/svg+xml;charset=utf-8," + encodeURIComponent(licence.qr), alt: "证照二维码 licence QR code", id: "static-qr" })) : null);
  }

  let ticker = null;
  function stopShowing() { if (ticker) { clearInterval(ticker); ticker = null; } }

  function presentView(licence) {
    const chosen = new Set(licence.disclosable);
    const canvas = el("canvas", { id: "presentation", "aria-label": "亮证码 presentation code", role: "img" });
    const countdown = el("div", { class: "countdown", id: "countdown" }, "");
    const problem = el("div", { class: "error", hidden: true, id: "too-long" });
    const boxes = licence.disclosable.filter((name) => name in (licence.fields || {})).map((name) => el("label", {},
      el("input", { type: "checkbox", checked: true, "data-field": name, onchange: (event) => {
        if (event.target.checked) chosen.add(name); else chosen.delete(name);
        paint();
      } }), " ", name + "：" + licence.fields[name]));
    let nextAt = 0, painting = false, again = false;
    // One code at a time; a change made meanwhile (a field ticked) is painted right after.
    async function paint() {
      if (painting) { again = true; return; }
      painting = true;
      try {
        const code = await presentation(current.device, licence, licence.disclosable.filter((name) => chosen.has(name)));
        if (code.text.length > MAX_LENGTH) {
          problem.hidden = false;
          problem.textContent = "所选字段太多，出示码放不下，请少选几项。 · Too many fields for the code; choose fewer.";
          canvas.hidden = true;
        } else {
          problem.hidden = true; canvas.hidden = false;
          const qr = ELicenceQR.encode(code.text, "Q");
          ELicenceQR.draw(canvas, qr, 8);
          canvas.dataset.code = code.text; canvas.dataset.version = String(qr.version);
        }
        nextAt = now() + REFRESH;
        tick();
      } finally {
        painting = false;
        if (again) { again = false; paint(); }
      }
    }
    function tick() {
      const left = nextAt - now();
      if (left <= 0) return paint();
      countdown.textContent = "0:" + String(left).padStart(2, "0");
      countdown.setAttribute("aria-label", left + " 秒后更新 · refreshes in " + left + " s");
    }
    show(el("div", { class: "show" },
      el("h2", {}, licence.typeName, el("small", {}, "出示 · Show at the window")),
      el("p", {}, "请将此码交给窗口工作人员扫描。此码几分钟内有效，只能使用一次。"),
      el("p", { class: "sub", lang: "en" }, "Let the clerk scan this code. It lasts a few minutes and works once."),
      el("div", { class: "qr" }, canvas), problem,
      el("div", { class: "moving", "aria-hidden": "true" }, el("span")), countdown,
      el("p", { class: "sub" }, "每 30 秒自动更新 · A new code every 30 s")),
      boxes.length ? el("fieldset", { class: "card fields" }, el("legend", {}, ...bi("出示的信息", "What the window sees")), boxes) : null,
      el("div", { class: "actions" }, el("button", { class: "secondary", onclick: () => licenceView(licence) }, "完成 · Done")));
    paint().catch((error) => app.prepend(errorBox(error)));
    ticker = setInterval(tick, 1000);
  }

  async function usageView() {
    show(tabs("usage"), el("h2", {}, ...bi("用证记录", "Who used my licences")), el("p", { class: "loading" }, "正在加载… Loading…"));
    let items;
    try {
      items = (await call(current.device, "GET", "/v1/wallet/usage")).items;
      await save("usage", items);
    } catch (error) {
      items = (await load("usage")) || [];
      app.append(errorBox(error));
    }
    const names = new Map((current.licences || []).map((l) => [l.id, l.typeName]));
    const list = items.map((record) => {
      const [zh, en] = ACTION[record.action] || [record.action, record.action];
      return el("div", { class: "card usage", "data-action": record.action },
        el("div", { class: "title" }, record.agency || "未登录的窗口 · a window not signed in"),
        el("div", { class: "sub" }, (record.typeName || names.get(record.licence) || record.licence) + " · " + zh + " " + en +
          " · " + (record.outcome === "valid" ? "有效 valid" : record.outcome)),
        record.cause ? el("div", { class: "sub" }, "事由 Cause: " + record.cause) : null,
        el("div", { class: "at" }, new Date(record.at).toLocaleString("zh-CN")));
    });
    show(tabs("usage"), el("h2", {}, ...bi("用证记录", "Who used my licences")),
      list.length ? list : el("p", { class: "note" }, "暂无用证记录。 · No one has used your licences yet."));
  }

  function deviceView() {
    const device = current.device;
    show(tabs("device"), el("h2", {}, ...bi("本设备", "This phone")),
      el("div", { class: "card" }, el("dl", {},
        el("dt", {}, "设备编号 Device"), el("dd", { id: "device-id" }, device.id),
        el("dt", {}, "持证主体 Holder"), el("dd", {}, current.holderCode || device.holderCode || ""),
        el("dt", {}, "更新于 Updated"), el("dd", {}, current.fetchedAt ? new Date(current.fetchedAt).toLocaleString("zh-CN") : "—"))),
      el("p", { class: "sub" }, "设备密钥在本机生成，无法导出。手机丢失时，请联系发证机关移除该设备。"),
      el("p", { class: "sub", lang: "en" }, "The device key was made on this phone and cannot leave it. If you lose the phone, ask the issuing agency to remove it."),
      el("div", { class: "actions" }, el("button", { class: "secondary", id: "remove-device", onclick: removeDevice }, "移除本设备 · Remove this phone")));
  }

  async function removeDevice() {
    if (!window.confirm("移除后本机将不再显示您的证照。确定吗？\nThis phone will no longer show your licences. Remove it?")) return;
    try { await call(current.device, "DELETE", "/v1/wallet/device"); } catch (error) {
      if (!(error instanceof Refusal && error.type === "unknown-device")) return app.prepend(errorBox(error));
    }
    await forgetAll();
    current = { device: null, licences: null, usage: null, fetchedAt: null, offline: false };
    setOffline(false);
    enrolView(el("p", { class: "note" }, "本设备已移除。 · This phone was removed."));
  }

  // ---- Start: an enrolment link's code stays in the page (the fragment is never sent) and is
  // removed from the address bar and history at once.
  async function start() {
    if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(() => {});
    const match = /^#enrol=([0-9A-Za-z-]{1,40})$/.exec(location.hash);
    if (match) {
      history.replaceState(null, "", location.pathname);
      const existing = await load("device");
      if (existing) {
        await refresh();
        return app.prepend(el("p", { class: "note" }, "本机已登记；如需重新登记，请先在“本设备”中移除。 · This phone is already enrolled; remove it under “This phone” to enrol again."));
      }
      enrolView(null, match[1]);
      return enrol(match[1]);
    }
    await refresh();
  }
  window.addEventListener("hashchange", () => { if (location.hash.startsWith("#enrol=")) start(); });
  start().catch((error) => show(errorBox(error)));
})();
"""#
}
