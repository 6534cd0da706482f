/* Palette Inc. cookie consent banner (policy 1.3, CM-10, CM-11). No dependencies.
 * Embed on the company website: <script src="https://<privacyops>/consent/banner.js" data-lang="ko" defer></script>
 * Google Analytics and the Meta pixel are loaded only after their category is allowed. */
(function () {
  "use strict";
  var CONFIG = {{ config|safe }};
  if (window.PaletteConsent) { return; }
  var script = document.currentScript;
  var endpoint = new URL(CONFIG.endpointPath, script && script.src ? script.src : window.location.href).href;
  // GPC: the server saw the Sec-GPC header on this script's request, or the browser exposes it.
  var navigatorGpc = navigator.globalPrivacyControl === true;
  var gpc = CONFIG.gpcHeader === true || navigatorGpc;
  var wanted = ((script && script.getAttribute("data-lang")) || document.documentElement.lang || navigator.language || "ko").toLowerCase();
  var lang = wanted.indexOf("en") === 0 ? "en" : "ko";
  var T = CONFIG.texts[lang];
  var loaded = {};
  var root = null;

  function readCookie() {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf("=");
      if (parts[i].slice(0, eq) === CONFIG.cookieName) {
        try { return JSON.parse(decodeURIComponent(parts[i].slice(eq + 1))); } catch (e) { return null; }
      }
    }
    return null;
  }

  function currentChoice() {
    var stored = readCookie();
    return stored && stored.v === CONFIG.version && stored.c ? stored : null;
  }

  function visitorId() {
    var stored = readCookie();
    if (stored && /^[0-9a-f]{32}$/.test(stored.id || "")) { return stored.id; }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    var hex = "";
    for (var i = 0; i < bytes.length; i++) { hex += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16); }
    return hex;
  }

  function writeCookie(id, allowed) {
    var value = encodeURIComponent(JSON.stringify({ v: CONFIG.version, id: id, c: allowed, t: Date.now() }));
    document.cookie = CONFIG.cookieName + "=" + value + "; Max-Age=" + CONFIG.maxAgeSeconds + "; Path=/; SameSite=Lax" +
      (window.location.protocol === "https:" ? "; Secure" : "");
  }

  function categoryWithTag(tag) {
    for (var i = 0; i < T.categories.length; i++) { if (T.categories[i].vendorTag === tag) { return T.categories[i].key; } }
    return null;
  }

  function addScript(src, tag) {
    var s = document.createElement("script");
    s.async = true;
    s.src = src;
    s.setAttribute("data-palette-consent", tag);
    document.head.appendChild(s);
  }

  function applyChoice(allowed) {
    var ga = categoryWithTag("google_analytics");
    var meta = categoryWithTag("meta_pixel");
    var adsAllowed = meta !== null && allowed.indexOf(meta) !== -1;
    if (ga !== null && allowed.indexOf(ga) !== -1 && CONFIG.ga.id && !loaded.ga) {
      loaded.ga = true;
      window.dataLayer = window.dataLayer || [];
      window.gtag = window.gtag || function () { window.dataLayer.push(arguments); };
      // Google Consent Mode v2: analytics only; ads signals follow the marketing category.
      var ads = adsAllowed ? "granted" : "denied";
      window.gtag("consent", "default", { analytics_storage: "granted", ad_storage: ads, ad_user_data: ads, ad_personalization: ads });
      window.gtag("js", new Date());
      window.gtag("config", CONFIG.ga.id);
      addScript(CONFIG.ga.src + "?id=" + encodeURIComponent(CONFIG.ga.id), "google_analytics");
    }
    if (adsAllowed && CONFIG.meta.id && !loaded.meta) {
      loaded.meta = true;
      if (!window.fbq) {
        var fbq = window.fbq = function () {
          if (fbq.callMethod) { fbq.callMethod.apply(fbq, arguments); } else { fbq.queue.push(arguments); }
        };
        if (!window._fbq) { window._fbq = fbq; }
        fbq.push = fbq; fbq.loaded = true; fbq.version = "2.0"; fbq.queue = [];
      }
      window.fbq("init", CONFIG.meta.id);
      window.fbq("track", "PageView");
      addScript(CONFIG.meta.src, "meta_pixel");
    }
  }

  function decide(choice, ticked) {
    var allowed = [];
    for (var i = 0; i < T.categories.length; i++) {
      var c = T.categories[i];
      if (c.alwaysOn) { allowed.push(c.key); }
      else if (choice === "allow_all" && !(gpc && c.offUnderGpc)) { allowed.push(c.key); }
      else if (choice === "custom" && ticked[c.key]) { allowed.push(c.key); }
    }
    return allowed;
  }

  function record(choice, ticked) {
    var hadChoice = currentChoice();
    var id = visitorId();
    var allowed = decide(choice, ticked);
    var categories = {};
    for (var i = 0; i < T.categories.length; i++) {
      var c = T.categories[i];
      if (!c.alwaysOn) { categories[c.key] = allowed.indexOf(c.key) !== -1; }
    }
    writeCookie(id, allowed);
    var body = JSON.stringify({ visitor_id: id, banner_version: CONFIG.version, language: lang, choice: choice, categories: categories, gpc: navigatorGpc });
    // No credentials: the endpoint needs none, and sending none is what makes it safe cross-site.
    var sent = window.fetch(endpoint, { method: "POST", mode: "cors", credentials: "omit", keepalive: true, headers: { "Content-Type": "application/json" }, body: body });
    if (sent && sent.catch) { sent.catch(function () {}); }
    close();
    if (hadChoice && hadChoice.c) {
      // A tag already running cannot be unloaded: withdrawing takes effect on a fresh page.
      for (var j = 0; j < hadChoice.c.length; j++) {
        if (allowed.indexOf(hadChoice.c[j]) === -1) { window.location.reload(); return; }
      }
    }
    applyChoice(allowed);
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var key in attrs) { if (Object.prototype.hasOwnProperty.call(attrs, key)) { node.setAttribute(key, attrs[key]); } }
    if (text) { node.textContent = text; }
    return node;
  }

  var BUTTON = "margin:4px 8px 0 0;padding:8px 14px;border:1px solid #222;border-radius:4px;cursor:pointer;font:inherit;";

  function close() { if (root && root.parentNode) { root.parentNode.removeChild(root); } root = null; }

  function open() {
    close();
    var stored = currentChoice();
    root = el("div", { id: "palette-consent", role: "dialog", "aria-modal": "false", "aria-label": T.title, lang: lang,
      style: "position:fixed;left:0;right:0;bottom:0;z-index:2147483647;background:#fff;color:#111;border-top:1px solid #999;padding:16px;font:14px/1.5 system-ui,sans-serif;box-shadow:0 -2px 8px rgba(0,0,0,.15);" });
    root.appendChild(el("strong", {}, T.title));
    root.appendChild(el("p", { style: "margin:6px 0;" }, T.body));
    if (gpc) { root.appendChild(el("p", { id: "palette-consent-gpc", style: "margin:6px 0;font-style:italic;" }, T.gpcNotice)); }
    var panel = el("div", { id: "palette-consent-panel", hidden: "hidden" });
    var boxes = {};
    for (var i = 0; i < T.categories.length; i++) {
      var c = T.categories[i];
      var label = el("label", { style: "display:block;margin:4px 0;" });
      var box = el("input", { type: "checkbox", name: c.key, id: "palette-consent-" + c.key });
      if (c.alwaysOn) { box.checked = true; box.disabled = true; }
      else if (stored) { box.checked = stored.c.indexOf(c.key) !== -1; }
      else { box.checked = false; }
      boxes[c.key] = box;
      label.appendChild(box);
      label.appendChild(document.createTextNode(" " + c.name + (c.alwaysOn ? " (" + T.alwaysOn + ")" : "") + " - " + c.description));
      panel.appendChild(label);
    }
    var save = el("button", { type: "button", id: "palette-consent-save", style: BUTTON }, T.save);
    save.addEventListener("click", function () {
      var ticked = {};
      for (var key in boxes) { if (Object.prototype.hasOwnProperty.call(boxes, key)) { ticked[key] = boxes[key].checked; } }
      record("custom", ticked);
    });
    panel.appendChild(save);
    var allow = el("button", { type: "button", id: "palette-consent-allow", style: BUTTON }, T.allowAll);
    allow.addEventListener("click", function () { record("allow_all", {}); });
    var choose = el("button", { type: "button", id: "palette-consent-choose", style: BUTTON, "aria-controls": "palette-consent-panel" }, T.choose);
    choose.addEventListener("click", function () { panel.hidden = !panel.hidden; });
    var reject = el("button", { type: "button", id: "palette-consent-reject", style: BUTTON }, T.rejectAll);
    reject.addEventListener("click", function () { record("reject_all", {}); });
    var actions = el("div", {});
    actions.appendChild(allow); actions.appendChild(choose); actions.appendChild(reject);
    root.appendChild(actions);
    root.appendChild(panel);
    document.body.appendChild(root);
  }

  window.PaletteConsent = { open: open, choice: function () { var c = currentChoice(); return c ? c.c.slice() : null; }, gpc: gpc };

  function start() {
    var stored = currentChoice();
    if (stored) { applyChoice(stored.c); } else { open(); }
  }
  if (document.body) { start(); } else { document.addEventListener("DOMContentLoaded", start); }
})();
