/* Palette Inc. cookie consent banner (policy 1.3, CM-10, CM-11). No dependencies.
 * Embed on the company website: <script src="https://<privacyops>/consent/banner.js" data-lang="ko" defer></script>
 * and list the website's origin in CONSENT_ALLOWED_ORIGINS on privacyops (README, "Embedding the cookie banner").
 * Google Analytics and the Meta pixel are loaded only after their category is allowed.
 * A choice the server did not record (CORS refusal, network, 429, 5xx) stays in localStorage as
 * pending and is posted again on the next page view until it is; the console says why. */
(function () {
  "use strict";
  var CONFIG = {{ config|safe }};
  if (window.PaletteConsent) { return; }
  var script = document.currentScript;
  var endpoint = new URL(CONFIG.endpointPath, script && script.src ? script.src : window.location.href).href;
  var policyUrl = new URL(CONFIG.policyPath, script && script.src ? script.src : window.location.href).href;
  // GPC: the server saw the Sec-GPC header on this script's request, or the browser exposes it.
  var navigatorGpc = navigator.globalPrivacyControl === true;
  var gpc = CONFIG.gpcHeader === true || navigatorGpc;
  var wanted = ((script && script.getAttribute("data-lang")) || document.documentElement.lang || navigator.language || "ko").toLowerCase();
  var lang = wanted.indexOf("en") === 0 ? "en" : "ko";
  var T = CONFIG.texts[lang];
  var loaded = {};
  var root = null;
  var PENDING_KEY = CONFIG.cookieName + "_pending";
  var MAX_PENDING = 10;
  var SAY = "Palette consent: ";
  var queue = Promise.resolve();

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

  function writeCookie(id, allowed, at) {
    var value = encodeURIComponent(JSON.stringify({ v: CONFIG.version, id: id, c: allowed, t: at }));
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

  // --- choices not yet recorded by the server, kept in this website's localStorage ---
  function readPending() {
    try {
      var list = JSON.parse(window.localStorage.getItem(PENDING_KEY) || "[]");
      return Array.isArray(list) ? list : [];
    } catch (e) { return []; }
  }

  function writePending(list) {
    try {
      if (list.length) { window.localStorage.setItem(PENDING_KEY, JSON.stringify(list)); }
      else { window.localStorage.removeItem(PENDING_KEY); }
      return true;
    } catch (e) { return false; }
  }

  function forget(body) {
    var kept = [];
    var list = readPending();
    for (var i = 0; i < list.length; i++) {
      if (list[i].visitor_id !== body.visitor_id || list[i].chosen_at !== body.chosen_at) { kept.push(list[i]); }
    }
    writePending(kept);
  }

  // A pending choice is sent again only while it is the choice this browser applies: made on
  // this banner (the server refuses another version, and the visitor is asked again anyway) by
  // this cookie's visitor (a cleared cookie means the visitor starts afresh).
  function prune() {
    var stored = readCookie();
    var list = readPending();
    var kept = [];
    for (var i = 0; i < list.length; i++) {
      if (list[i] && list[i].banner_version === CONFIG.version && stored && list[i].visitor_id === stored.id) { kept.push(list[i]); }
      else { console.warn(SAY + "a cookie choice made on an earlier banner or by a cleared cookie was never recorded and is dropped."); }
    }
    if (kept.length !== list.length) { writePending(kept); }
  }

  // One post; resolves "recorded", "retry" (kept for the next page view) or "dropped".
  function post(body) {
    var sent;
    try {
      // No credentials: the endpoint needs none, and sending none is what makes it safe cross-site.
      sent = window.fetch(endpoint, { method: "POST", mode: "cors", credentials: "omit", keepalive: true,
        headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    } catch (e) { sent = Promise.reject(e); }
    return sent.then(function (response) {
      if (response.ok) { return "recorded"; }
      return response.json().then(function (answer) { return (answer && answer.detail) || ""; }, function () { return ""; })
        .then(function (detail) {
          var reason = "HTTP " + response.status + (detail ? ": " + detail : "");
          if (response.status === 429 || response.status >= 500) {
            console.warn(SAY + "the cookie choice was not recorded (" + reason + "). It applies on this website and is sent again on the next page view.");
            return "retry";
          }
          console.error(SAY + "the cookie choice was refused (" + reason + ") and will not be sent again.");
          return "dropped";
        });
    }, function (error) {
      // A CORS refusal is not readable by the page: the browser only says the fetch failed.
      console.error(SAY + "the cookie choice could not be recorded at " + endpoint + " (" + error + "). " +
        "If the browser reports a CORS error, this website's origin " + window.location.origin +
        " is not listed in CONSENT_ALLOWED_ORIGINS on the privacyops server. No consent record exists yet; " +
        "the choice applies on this website and is sent again on the next page view.");
      return "retry";
    });
  }

  // Post the pending choices in the order they were made, after any post already under way;
  // stop at the first that has to wait for a later page. `unstored` is a choice that could not
  // be kept in localStorage (storage blocked), posted once.
  function send(unstored) {
    queue = queue.then(function () {
      var list = readPending();
      if (unstored) { list.push(unstored); }
      var i = 0;
      function next() {
        if (i >= list.length) { return "done"; }
        var body = list[i++];
        return post(body).then(function (outcome) {
          if (outcome === "retry") { return outcome; }
          forget(body);
          return next();
        });
      }
      return next();
    });
    return queue;
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
    var now = Date.now();
    writeCookie(id, allowed, now);
    // chosen_at with the visitor id names this choice: a second post of it is recorded once.
    var body = { visitor_id: id, banner_version: CONFIG.version, language: lang, choice: choice,
      categories: categories, gpc: navigatorGpc, chosen_at: new Date(now).toISOString() };
    var kept = writePending(readPending().concat([body]).slice(-MAX_PENDING));
    if (!kept) { console.warn(SAY + "this browser blocks localStorage, so a choice that fails to be recorded cannot be sent again."); }
    var sent = send(kept ? null : body);
    close();
    if (hadChoice && hadChoice.c) {
      // A tag already running cannot be unloaded: withdrawing takes effect on a fresh page,
      // loaded once the post has settled (or after 1.5 s) so that it does not post it again.
      for (var j = 0; j < hadChoice.c.length; j++) {
        if (allowed.indexOf(hadChoice.c[j]) === -1) {
          var reload = function () { window.location.reload(); };
          var timer = window.setTimeout(reload, 1500);
          sent.then(function () { window.clearTimeout(timer); reload(); });
          return;
        }
      }
    }
    applyChoice(allowed);
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var key in attrs) {
      if (!Object.prototype.hasOwnProperty.call(attrs, key)) { continue; }
      // Styles through the CSSOM, which a website's Content-Security-Policy does not block (a
      // style attribute needs style-src 'unsafe-inline').
      if (key === "style") { node.style.cssText = attrs[key]; } else { node.setAttribute(key, attrs[key]); }
    }
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
    var intro = el("p", { style: "margin:6px 0;" }, T.body + " ");
    intro.appendChild(el("a", { href: policyUrl, id: "palette-consent-policy", target: "_blank", rel: "noopener", style: "color:#0b4fb3;" }, T.policy));
    root.appendChild(intro);
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

  window.PaletteConsent = {
    open: open,
    choice: function () { var c = currentChoice(); return c ? c.c.slice() : null; },
    gpc: gpc,
    // How many choices this browser made that the server has not recorded yet.
    pending: function () { return readPending().length; }
  };

  function start() {
    prune();
    var stored = currentChoice();
    if (stored) { applyChoice(stored.c); } else { open(); }
    if (readPending().length) { send(null); }
  }
  if (document.body) { start(); } else { document.addEventListener("DOMContentLoaded", start); }
})();
