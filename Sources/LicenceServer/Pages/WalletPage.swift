/// The holder's wallet (`/wallet`): enrol a phone with a one-time code, see every licence and its
/// status, a licence's face and static QR code, show a presentation code (亮证) at a service window,
/// and see who used one's licences (用证留痕). The device key is made in the browser (WebCrypto,
/// P-256, not extractable) and kept in IndexedDB; every request is signed with it (DPoP). A service
/// worker keeps the page, and IndexedDB the licences, for use offline. Nothing is loaded from
/// elsewhere, and the scripts and styles are files of their own (no inline code).
enum WalletPage {
    static let html = #"""
<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="theme-color" content="#b8141c">
<title>电子证照 · Licence wallet</title>
<link rel="manifest" href="/manifest.webmanifest">
<link rel="icon" href="/wallet-icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/wallet.css">
<script src="/qr.js" defer></script>
<script src="/wallet.js" defer></script>
</head>
<body>
<header>
  <h1>电子证照 <small>Licence wallet</small></h1>
  <span id="network" class="network" hidden>离线 · Offline</span>
</header>
<main id="app" aria-live="polite"><p class="loading">正在加载… Loading…</p></main>
<footer>证照仅保存在本机；出示码数分钟内有效，只能使用一次。 · Licences stay on this phone; a presentation code lasts a few minutes and works once.</footer>
</body>
</html>
"""#

    static let css = #"""
[hidden] { display: none !important; }
:root { font-family: "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", system-ui, sans-serif; color: #1d2733; }
body { margin: 0; background: #f3f5f8; }
header { background: #b8141c; color: #fff; padding: 12px 18px; display: flex; align-items: baseline; justify-content: space-between; }
header h1 { margin: 0; font-size: 22px; } header h1 small { font-size: 14px; font-weight: 400; opacity: .85; margin-left: 6px; }
.network { background: #fff; color: #b86e00; border-radius: 12px; padding: 2px 10px; font-size: 13px; font-weight: 600; }
main { max-width: 560px; margin: 0 auto; padding: 14px; }
footer { max-width: 560px; margin: 8px auto 24px; padding: 0 14px; font-size: 12px; color: #5b6675; }
h2 { font-size: 19px; margin: 10px 0; } h2 small { font-weight: 400; color: #5b6675; font-size: 14px; margin-left: 6px; }
.card { background: #fff; border-radius: 12px; box-shadow: 0 1px 3px rgba(0,0,0,.12); padding: 14px 16px; margin: 10px 0; }
button.card { display: block; width: 100%; text-align: left; border: 0; font: inherit; cursor: pointer; }
.card .title { font-size: 18px; font-weight: 700; } .card .sub { color: #5b6675; font-size: 14px; margin-top: 4px; }
.badge { display: inline-block; font-size: 13px; font-weight: 700; border-radius: 10px; padding: 2px 10px; margin-left: 8px; color: #fff; }
.badge.valid { background: #1b7f3b; } .badge.suspended { background: #b86e00; } .badge.revoked, .badge.expired { background: #b3261e; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 6px 14px; margin: 10px 0; }
dt { color: #5b6675; } dd { margin: 0; word-break: break-all; }
.actions { display: flex; gap: 10px; flex-wrap: wrap; margin: 12px 0; }
.actions button, form button { font-size: 17px; padding: 10px 18px; border-radius: 8px; border: 0; background: #1d4f91; color: #fff; cursor: pointer; }
.actions button.primary { background: #b8141c; font-weight: 700; } .actions button.secondary { background: #5b6675; }
form { display: grid; gap: 10px; }
input[type=text] { font: 18px ui-monospace, monospace; padding: 10px; border: 2px solid #c5ccd6; border-radius: 8px; text-transform: uppercase; }
.error { background: #fdecea; color: #8c1d18; border-radius: 8px; padding: 10px 12px; margin: 10px 0; }
.note { background: #e8f0fb; color: #1d4f91; border-radius: 8px; padding: 10px 12px; margin: 10px 0; }
.qr { text-align: center; } .qr img, .qr canvas { width: min(100%, 340px); height: auto; image-rendering: pixelated; background: #fff; }
.show { text-align: center; }
.countdown { font-size: 40px; font-weight: 800; font-variant-numeric: tabular-nums; }
.moving { height: 8px; background: #e4e8ee; border-radius: 4px; overflow: hidden; margin: 10px auto; width: min(100%, 340px); }
.moving span { display: block; height: 100%; width: 30%; background: #b8141c; border-radius: 4px; animation: slide 1.6s ease-in-out infinite alternate; }
@keyframes slide { from { transform: translateX(0); } to { transform: translateX(233%); } }
.fields label { display: block; padding: 6px 0; font-size: 16px; }
.usage .at { color: #5b6675; font-size: 13px; }
.tabs { display: flex; gap: 8px; margin-bottom: 6px; }
.tabs button { flex: 1; font-size: 15px; padding: 8px; border: 0; border-radius: 8px; background: #e4e8ee; color: #1d2733; cursor: pointer; }
.tabs button[aria-pressed=true] { background: #1d4f91; color: #fff; }
.loading { color: #5b6675; }
"""#

    static let manifest = #"""
{
  "name": "电子证照 · Licence wallet",
  "short_name": "电子证照",
  "start_url": "/wallet",
  "scope": "/",
  "display": "standalone",
  "background_color": "#f3f5f8",
  "theme_color": "#b8141c",
  "lang": "zh-CN",
  "icons": [{"src": "/wallet-icon.svg", "sizes": "any", "type": "image/svg+xml", "purpose": "any maskable"}]
}
"""#

    static let icon = #"""
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 96 96"><rect width="96" height="96" rx="20" fill="#b8141c"/><rect x="20" y="22" width="56" height="52" rx="6" fill="#fff"/><rect x="28" y="32" width="22" height="4" fill="#b8141c"/><rect x="28" y="42" width="40" height="4" fill="#5b6675"/><rect x="28" y="52" width="34" height="4" fill="#5b6675"/><circle cx="64" cy="34" r="6" fill="#b8141c"/></svg>
"""#

    /// Keeps the page's files for use offline; the wallet's data lives in IndexedDB, not here. Pages
    /// come from the network when it answers, else from the cache.
    static let serviceWorker = #"""
"use strict";
const CACHE = "elicence-wallet-v1";
const SHELL = ["/wallet", "/wallet.js", "/wallet.css", "/qr.js", "/manifest.webmanifest", "/wallet-icon.svg"];
self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});
self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});
self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin || !SHELL.includes(url.pathname)) return;
  event.respondWith(fetch(event.request).then((response) => {
    const copy = response.clone();
    caches.open(CACHE).then((cache) => cache.put(event.request, copy));
    return response;
  }).catch(() => caches.match(event.request)));
});
"""#
}
