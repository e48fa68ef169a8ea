/* 小安 web chat: configures the rasa-webchat widget (window.WebChat, from /vendor/rasa-webchat.js). */
(function () {
  "use strict";

  var RASA_PORT = "5005";
  var SESSION_KEY = "chat_session"; // where rasa-webchat keeps the conversation
  var LOOPBACK = ["127.0.0.1", "localhost", "::1", "[::1]"];

  function warn(message) {
    if (window.console) window.console.warn("[小安] " + message);
  }

  // "http://host:port[/path]" or a bare port number -> a URL string, or null.
  function parseRasaUrl(value) {
    if (!value) return null;
    value = String(value).trim();
    if (/^\d{2,5}$/.test(value)) {
      value = window.location.protocol + "//" + (window.location.hostname || "127.0.0.1") + ":" + value;
    }
    var url;
    try {
      url = new URL(value);
    } catch (e) {
      return null;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") return null;
    return url;
  }

  function asSocketUrl(url) {
    return url.origin + url.pathname.replace(/\/+$/, "");
  }

  // Which Rasa server to talk to: ?rasa=… (only this host or loopback, so a
  // link cannot send a merchant's conversation elsewhere), then the value the
  // page server injected (RASA_URL), then this page's host on port 5005.
  function resolveSocketUrl() {
    var params = new URLSearchParams(window.location.search);
    var fromQuery = params.get("rasa");
    if (fromQuery) {
      var queried = parseRasaUrl(fromQuery);
      if (queried && (queried.hostname === window.location.hostname || LOOPBACK.indexOf(queried.hostname) >= 0)) {
        return asSocketUrl(queried);
      }
      warn("ignoring ?rasa=" + fromQuery + " (must be http(s) on this host or loopback)");
    }
    var meta = document.querySelector('meta[name="xiaoan-rasa-url"]');
    var injected = parseRasaUrl(meta && meta.getAttribute("content"));
    if (injected) return asSocketUrl(injected);
    var host = window.location.hostname || "127.0.0.1";
    var protocol = window.location.protocol === "https:" ? "https:" : "http:";
    return protocol + "//" + host + ":" + RASA_PORT;
  }

  // Who is signed in: the bank's portal opens this page with its signed identity token in the URL's
  // fragment (#identity=…), which never reaches the page server's logs. It is taken out of the
  // address bar at once and sent with every message (customData.identity); Rasa verifies it.
  function takeIdentityToken() {
    var hash = new URLSearchParams((window.location.hash || "").replace(/^#/, ""));
    var token = hash.get("identity");
    if (!token) return null;
    if (window.history && window.history.replaceState) {
      window.history.replaceState(null, "", window.location.pathname + window.location.search);
    }
    return token.length <= 4096 ? token : null;
  }

  // Context a merchant portal passes in the page URL (an 8-digit terminal number).
  function resolveCustomData() {
    var data = { language: "zh" };
    var identity = takeIdentityToken();
    if (identity) data.identity = identity;
    var terminalId = new URLSearchParams(window.location.search).get("terminal_id");
    if (terminalId) {
      terminalId = terminalId.trim();
      if (/^\d{8}$/.test(terminalId)) data.terminal_id = terminalId;
      else warn("ignoring terminal_id=" + terminalId + " (expected 8 digits)");
    }
    return data;
  }

  // Every message the page sends carries an id of its own (customData.message_id), so a
  // message delivered twice (a reconnect, a re-sent poll, a second server behind nginx) is
  // answered from the stored replies instead of being processed again (xiaoan/runtime/replay.py).
  // The widget reads customData when it emits; the id is renewed just before each send
  // (capture phase on the chat container runs before the widget's own handlers).
  function newMessageId() {
    if (window.crypto && window.crypto.randomUUID) return "web-" + window.crypto.randomUUID();
    return "web-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
  }
  function attachMessageIds(data, container) {
    var current = newMessageId(); // the greeting sent on open
    Object.defineProperty(data, "message_id", {
      enumerable: true,
      get: function () {
        return current;
      },
    });
    function renew() {
      current = newMessageId();
    }
    if (!container) return data;
    container.addEventListener("submit", renew, true);
    container.addEventListener(
      "click",
      function (event) {
        var target = event.target;
        if (target && target.closest && target.closest(".rw-reply, .rw-send, button")) renew();
      },
      true
    );
    container.addEventListener(
      "keydown",
      function (event) {
        if (event.key === "Enter" && !event.shiftKey) renew();
      },
      true
    );
    return data;
  }

  var statusEl = document.getElementById("status");
  var offlineEl = document.getElementById("offline");
  function setStatus(state, text) {
    if (offlineEl) offlineEl.hidden = state === "online" || state === "connecting";
    if (!statusEl) return;
    statusEl.setAttribute("data-state", state);
    statusEl.textContent = text;
  }

  var newChat = document.getElementById("new-chat");
  if (newChat) {
    newChat.addEventListener("click", function () {
      try {
        window.sessionStorage.removeItem(SESSION_KEY);
      } catch (e) {
        /* storage disabled: nothing to clear */
      }
      window.location.reload();
    });
  }

  if (!window.WebChat || typeof window.WebChat.default !== "function") {
    setStatus("error", "组件未加载");
    var chat = document.getElementById("chat");
    if (chat) {
      chat.innerHTML =
        '<p class="load-error">聊天组件没有加载成功，请刷新页面重试。</p>';
    }
    return;
  }

  // The widget's send button is an icon only: name it for screen readers.
  var chatEl = document.getElementById("chat");
  if (chatEl && window.MutationObserver) {
    new MutationObserver(function () {
      var send = chatEl.querySelector(".rw-send:not([aria-label])");
      if (send) send.setAttribute("aria-label", "发送");
      var field = chatEl.querySelector(".rw-new-message:not([aria-label])");
      if (field) field.setAttribute("aria-label", "输入您的问题");
    }).observe(chatEl, { childList: true, subtree: true });
  }

  var socketUrl = resolveSocketUrl();
  var customData = attachMessageIds(resolveCustomData(), chatEl);
  document.documentElement.setAttribute("data-rasa-url", socketUrl);

  window.WebChat.default(
    {
      socketUrl: socketUrl,
      socketPath: "/socket.io/",
      customData: customData,
      initPayload: "/greet",
      title: "小安 · POS转账助手",
      subtitle: "刷卡失败、扣款未到账，我来帮您排查",
      inputTextFieldHint: "请描述您遇到的问题…",
      connectingText: "正在连接小安…",
      embedded: true,
      showCloseButton: false,
      showFullScreenButton: false,
      hideWhenNotConnected: false,
      showMessageDate: false,
      // The conversation lives in this tab only (sessionStorage): on a shop's shared computer the next person's
      // new tab or window starts empty, and closing the tab forgets the answers (amounts, records) it held.
      params: { storage: "session" },
      customMessageDelay: function (message) {
        var delay = 15 * String(message || "").length;
        return Math.max(300, Math.min(delay, 1200));
      },
      onSocketEvent: {
        connect: function () {
          setStatus("online", "在线");
        },
        disconnect: function () {
          setStatus("offline", "已断开，正在重连…");
        },
        connect_error: function () {
          setStatus("offline", "连接不上小安");
        },
      },
    },
    chatEl
  );
})();
