/* 小安 staff console: one page over the JSON API (/api/, contract §7). Text is always set with
   textContent: nothing a user typed is ever read as HTML. */
(function () {
  "use strict";

  var LABELS = {
    reason: { request_human: "用户要求转人工", fraud_report: "诈骗举报", not_understood: "连续两次没听懂", check_failed: "查询连续失败" },
    channel: { rest: "REST", socketio: "网页", wechat: "微信" },
    scenario: {
      transfer_failed: "转账失败", terminal_fault: "终端故障", network_issue: "网络/通讯", account_problem: "账户问题",
      input_error: "输入错误", system_delay: "处理中", charged_but_failed: "扣款未成功", payee_not_received: "对方未收到",
      recipient_bank_issue: "收款行问题", funds_returned: "退票/退回", error_code: "错误码",
    },
    status: {
      sending: "发送中", delivered: "已送达", pending: "待送达：用户下次发消息或重新打开页面时送达",
      window_closed: "未送达：超出微信48小时客服消息窗口，已保存在工单上", not_delivered: "未送达：服务暂时不可用，正在自动重试",
    },
    kind: { staff: "回复", joined: "接入通知", handed_back: "转回通知", closed: "结案通知",
            waited_long: "等待超时通知（小安已接回）", hours_over: "下班通知（小安已接回）" },
    // What the user was last told about the wait (the queue entry's `told`, xiaoan/handover/waiting.py).
    told: { nobody_on_duty: "已告知无人值班，小安继续服务", quiet: "举报后未打扰用户，小安继续服务",
            waited_long: "等待超时，已告知排队情况，小安已接回", hours_over: "人工服务时间已结束，已告知，小安已接回" },
    from: { user: "用户", bot: "小安", staff: "人工客服" },
    slot: {
      symptom: "问题", amount: "金额", card_tail: "卡号后四位", terminal_id: "终端号", reference_number: "参考号",
      bank: "银行", error_code: "错误码", ticket_id: "工单号", steps_done: "已做排查", check_kind: "需要的查询",
      secrets_warned: "已提醒勿发敏感信息", fraud_reminded: "已做防骗提醒", pending_ticket_key: "登记中的工单",
      sign_in_told: "已告知需登录才能查询", identity_refusal_told: "已告知身份凭证被拒", mistake: "操作失误",
    },
    // A slot's value in words: yes/no for the bot's own reminders, the kind of check, the kind of mistake.
    check_kind: { account: "银行卡/账户状态", terminal: "POS终端状态", transaction: "交易状态", none: "无需查询" },
    mistake: { pin: "密码输错", wrong_account: "收款账号填错", other: "其他操作失误" },
    flag: { fallback: "未听懂", low_confidence: "低置信度", handover: "转人工", fraud_report: "诈骗举报", failed_check: "查询失败" },
    handover: { waiting: "排队中", claimed: "人工处理中", handed_back: "已转回小安", closed: "已结案" },
    via: { token: "登录凭证", wechat_binding: "微信绑定", local: "本机测试身份" },
    problem: { expired: "登录已过期", forged: "签名不符", malformed: "格式错误", not_configured: "本服务未配置验证密钥" },
  };
  // Whether the latest user message came from a verified customer or merchant (xiaoan.identity).
  function identityText(identity) {
    identity = identity || {};
    if (identity.verified) return "已验证身份 " + identity.subject + "（" + label("via", identity.via) + "）";
    if (identity.problem) return "未验证：身份凭证被拒（" + label("problem", identity.problem) + "）";
    return "未验证身份（未登录、未绑定）";
  }
  // Slots that are the bot's bookkeeping, not the case: never shown to staff.
  var INTERNAL_SLOTS = ["fraud_reminded", "error_code_asks", "session_started_metadata"];
  function slotValue(name, value) {
    if (value === true) return "是";
    if (value === false) return "否";
    if (Array.isArray(value)) return value.join("；");
    if (name === "check_kind" || name === "mistake") return label(name, value);
    if (name === "identity_refusal_told") return label("problem", value);
    if (name === "pending_ticket_key") return "正在登记，工单号稍后生成";
    return String(value);
  }
  var INTENTS = ["transfer_failed", "terminal_fault", "network_issue", "account_problem", "input_error", "system_delay",
    "charged_but_failed", "payee_not_received", "recipient_bank_issue", "funds_returned", "error_code", "ask_arrival_time",
    "ask_contact_bank", "ask_retry", "ask_verify_payee", "ask_alternatives", "ask_prevention", "ask_apply_pos",
    "fraud_report", "inform", "greet", "goodbye", "affirm", "deny", "thank", "bot_challenge", "request_human", "out_of_scope"];

  var state = { me: null, csrf: null, view: null, conversation: null, timer: null };

  function $(id) { return document.getElementById(id); }
  function label(group, key) { return (LABELS[group] && LABELS[group][key]) || key || "—"; }
  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function duration(seconds) {
    seconds = Math.max(0, Math.round(seconds));
    if (seconds < 60) return seconds + " 秒";
    if (seconds < 3600) return Math.floor(seconds / 60) + " 分 " + (seconds % 60) + " 秒";
    return Math.floor(seconds / 3600) + " 小时 " + Math.floor((seconds % 3600) / 60) + " 分";
  }
  // Every date and time on this page is one the server wrote in China time (xiaoan/clock.py): the page
  // never reads the browser's clock or zone, so a laptop set to another zone sees the same days.

  function api(method, path, body) {
    var options = { method: method, credentials: "same-origin", headers: {} };
    if (method !== "GET") {
      options.headers["X-CSRF-Token"] = state.csrf || "";
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body || {});
    }
    return fetch(path, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (response.status === 401 && path !== "/api/login") showLogin();
        return { status: response.status, data: data };
      });
    });
  }

  // ---------------------------------------------------------------- views

  function show(view) {
    state.view = view;
    if (state.timer) { clearInterval(state.timer); state.timer = null; }
    Array.prototype.forEach.call(document.querySelectorAll(".view"), function (section) {
      section.hidden = section.id !== "view-" + view;
    });
    Array.prototype.forEach.call(document.querySelectorAll(".nav"), function (button) {
      button.classList.toggle("active", button.getAttribute("data-view") === view);
    });
  }

  function showLogin() {
    state.me = null;
    $("bar").hidden = true;
    show("login");
  }

  function signedIn(me) {
    state.me = me;
    state.csrf = me.csrf;
    $("bar").hidden = false;
    $("who").textContent = me.username + " · 工号" + me.staff_id + " · " + (me.role === "supervisor" ? "主管" : "客服");
    Array.prototype.forEach.call(document.querySelectorAll(".supervisor-only"), function (node) {
      node.hidden = me.role !== "supervisor";
    });
    openQueue();
    watchQueue();
  }

  $("login-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target;
    $("login-error").textContent = "";
    api("POST", "/api/login", { username: form.username.value, password: form.password.value }).then(function (r) {
      if (r.status === 200) {
        form.password.value = "";
        signedIn(r.data);
      } else if (r.status === 429 && r.data.error === "throttled") {
        $("login-error").textContent = "此网络登录失败次数过多，已暂时限制登录，请 15 分钟后再试。";
      } else if (r.status === 429) {
        $("login-error").textContent = "尝试次数过多，该账号已暂时锁定，请 15 分钟后再试。";
      } else {
        $("login-error").textContent = "用户名或密码不正确。";
      }
    });
  });

  $("logout").addEventListener("click", function () {
    api("POST", "/api/logout").then(showLogin);
  });

  Array.prototype.forEach.call(document.querySelectorAll(".nav"), function (button) {
    button.addEventListener("click", function () {
      var view = button.getAttribute("data-view");
      if (view === "queue") openQueue();
      else if (view === "review") openReview();
      else openDashboard();
    });
  });

  // ---------------------------------------------------------------- queue

  function queueRow(item, withClaim) {
    var row = el("tr", null, item.urgent ? "urgent" : null);
    row.appendChild(el("td", item.conversation_id, "mono"));
    row.appendChild(el("td", label("channel", item.channel)));
    row.appendChild(el("td", label("scenario", item.scenario)));
    var reason = el("td", label("reason", item.reason));
    if (item.told && withClaim) reason.appendChild(el("div", label("told", item.told) + "（" + item.told_at + "）", "told"));
    row.appendChild(reason);
    // the wait as the server counted it on the China clock at its last answer: no browser clock is read
    if (withClaim) row.appendChild(el("td", duration(item.waiting_s)));
    row.appendChild(el("td", item.ticket || "—", "mono"));
    var cell = el("td");
    var open = el("button", withClaim ? "接入" : "打开");
    open.type = "button";
    open.addEventListener("click", function () {
      if (withClaim) claim(item.conversation_id);
      else openConversation(item.conversation_id);
    });
    cell.appendChild(open);
    row.appendChild(cell);
    return row;
  }

  // ---------------------------------------------------------------- new conversations announced
  // The queue is watched on every view: a conversation not seen before puts "(N)" in the tab's title
  // until the queue is looked at, and, if this console asked for it (off by default, kept in this
  // browser), a short tone. The first answer after sign-in announces nothing: those were already there.
  var BASE_TITLE = document.title;
  var watch = { seen: null, unseen: 0, timer: null };
  var SOUND_KEY = "xiaoan.console.sound";

  function soundWanted() {
    try { return window.localStorage.getItem(SOUND_KEY) === "on"; } catch (e) { return false; }
  }

  function chime() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    try {
      var audio = watch.audio || (watch.audio = new Context());
      var tone = audio.createOscillator();
      var gain = audio.createGain();
      tone.frequency.value = 880;
      gain.gain.value = 0.08;
      tone.connect(gain);
      gain.connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.25);
    } catch (e) { /* no sound device: the title still says it */ }
  }

  function showUnseen() {
    document.title = watch.unseen > 0 ? "(" + watch.unseen + ") " + BASE_TITLE : BASE_TITLE;
    $("queue-badge").textContent = watch.unseen > 0 ? String(watch.unseen) : "";
    $("queue-badge").hidden = watch.unseen === 0;
  }

  function noticeQueue(items) {
    var ids = items.map(function (item) { return item.conversation_id; });
    if (watch.seen === null) {
      watch.seen = {};
    } else {
      var fresh = ids.filter(function (id) { return !watch.seen[id]; });
      if (fresh.length) {
        watch.unseen += fresh.length;
        if (soundWanted()) chime();
      }
    }
    ids.forEach(function (id) { watch.seen[id] = true; });
    if (state.view === "queue" && document.visibilityState !== "hidden") watch.unseen = 0;
    showUnseen();
  }

  function watchQueue() {
    if (watch.timer) return;
    watch.timer = setInterval(function () {
      if (!state.me || state.view === "queue") return;  // the queue view's own refresh notices
      api("GET", "/api/queue").then(function (r) { if (r.status === 200) noticeQueue(r.data); });
    }, 5000);
  }

  $("sound").checked = soundWanted();
  $("sound").addEventListener("change", function (event) {
    try { window.localStorage.setItem(SOUND_KEY, event.target.checked ? "on" : "off"); } catch (e) { /* private mode */ }
    if (event.target.checked) chime();  // a click lets the browser play it, and the agent hears what it is
  });
  document.addEventListener("visibilitychange", function () {
    if (state.view === "queue" && document.visibilityState === "visible") { watch.unseen = 0; showUnseen(); }
  });

  function refreshQueue() {
    api("GET", "/api/queue").then(function (r) {
      if (r.status !== 200) return;
      var rows = $("queue-rows");
      clear(rows);
      // the order to take them in, as the server ranks it: scam reports first, then the longest wait
      r.data.slice().sort(function (a, b) { return a.rank - b.rank; })
        .forEach(function (item) { rows.appendChild(queueRow(item, true)); });
      $("queue-empty").hidden = r.data.length > 0;
      noticeQueue(r.data);
    });
    api("GET", "/api/mine").then(function (r) {
      if (r.status !== 200) return;
      var rows = $("mine-rows");
      clear(rows);
      r.data.forEach(function (item) { rows.appendChild(queueRow(item, false)); });
    });
  }

  function openQueue() {
    show("queue");
    refreshQueue();
    state.timer = setInterval(refreshQueue, 3000);
  }

  function claim(id) {
    $("queue-error").textContent = "";
    api("POST", "/api/conversations/" + encodeURIComponent(id) + "/claim").then(function (r) {
      if (r.status === 200) openConversation(id);
      else if (r.status === 409) $("queue-error").textContent = "这个会话已被工号" + (r.data.claimed_by || "?") + "接入。";
      else $("queue-error").textContent = "接入失败，请稍后再试。";
      refreshQueue();
    });
  }

  // ---------------------------------------------------------------- a conversation

  function renderTranscript(list, messages, options) {
    clear(list);
    var labels = {};
    (options && options.labels || []).forEach(function (lab) { labels[lab.time] = lab.intent; });
    messages.forEach(function (message) {
      var item = el("li", null, "msg from-" + message.from);
      var who = label("from", message.from) + (message.staff_id ? " 工号" + message.staff_id : "");
      var head = el("div", who + " · " + message.clock, "meta");
      if (message.from === "user" && message.intent) {
        head.appendChild(el("span", " 意图 " + message.intent + (message.confidence != null ? " " + message.confidence.toFixed(2) : ""), "intent"));
      }
      item.appendChild(head);
      item.appendChild(el("div", message.text, "text"));
      if (options && options.review && message.from === "user") {
        var picker = el("select");
        INTENTS.concat(["nlu_fallback"]).forEach(function (name) {
          var option = el("option", name);
          option.value = name;
          picker.appendChild(option);
        });
        picker.value = labels[message.time] || message.intent || "inform";
        var mark = el("button", labels[message.time] ? "已标注，改为" : "标注正确意图");
        mark.type = "button";
        mark.addEventListener("click", function () {
          api("POST", "/api/review/" + encodeURIComponent(options.id) + "/labels", { time: message.time, intent: picker.value })
            .then(function (r) { mark.textContent = r.status === 200 ? "已标注：" + picker.value : "标注失败"; });
        });
        var tools = el("div", null, "label-tools");
        tools.appendChild(picker);
        tools.appendChild(mark);
        item.appendChild(tools);
      }
      list.appendChild(item);
    });
  }

  function renderPairs(node, pairs) {
    clear(node);
    pairs.forEach(function (pair) {
      node.appendChild(el("dt", pair[0]));
      node.appendChild(el("dd", pair[1]));
    });
  }

  function refreshConversation() {
    var id = state.conversation;
    api("GET", "/api/conversations/" + encodeURIComponent(id)).then(function (r) {
      if (r.status !== 200) {
        $("conv-error").textContent = r.status === 403 ? "这个会话不在您的处理范围内。" : "读取会话失败。";
        return;
      }
      var data = r.data;
      var list = $("transcript");
      var atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 20;
      renderTranscript(list, data.messages);
      if (atBottom) list.scrollTop = list.scrollHeight;
      var handover = data.handover || {};
      $("conv-state").textContent = "（" + label("channel", data.channel) + " · " + label("handover", handover.status) +
        (data.paused ? " · 小安暂停中" : " · 小安在回答") + " · " + identityText(data.identity) + "）";
      renderPairs($("slots"), Object.keys(data.slots).filter(function (k) { return INTERNAL_SLOTS.indexOf(k) < 0; }).map(function (k) {
        return [label("slot", k), slotValue(k, data.slots[k])];
      }));
      var ticket = data.ticket;
      var pairs = [];
      if (ticket) {
        pairs.push(["工单号", ticket.ticket_id]);
        if (ticket.reason) pairs.push(["转人工原因", label("reason", ticket.reason)]);
        if (ticket.status) pairs.push(["状态", label("handover", ticket.status)]);
        if (ticket.note) pairs.push(["处理说明", ticket.note]);
        if (ticket.details && ticket.details.created_at) pairs.push(["登记时间", ticket.details.created_at]);
      } else {
        pairs.push(["工单号", "（尚无）"]);
      }
      renderPairs($("ticket"), pairs);
      var deliveries = $("deliveries");
      clear(deliveries);
      data.staff_messages.forEach(function (message) {
        var item = el("li", null, "delivery status-" + message.status);
        item.appendChild(el("span", label("kind", message.kind) + "：" + message.text.slice(0, 40)));
        item.appendChild(el("small", label("status", message.status)));
        if (message.status === "not_delivered") {
          var again = el("button", "重发");
          again.type = "button";
          again.addEventListener("click", function () {
            api("POST", "/api/conversations/" + encodeURIComponent(id) + "/messages/" + encodeURIComponent(message.id) + "/retry")
              .then(refreshConversation);
          });
          item.appendChild(again);
        }
        deliveries.appendChild(item);
      });
      $("claim-here").hidden = handover.status !== "waiting";
    });
  }

  function openConversation(id) {
    show("conversation");
    state.conversation = id;
    $("conv-id").textContent = id;
    $("conv-error").textContent = "";
    clear($("transcript"));
    refreshConversation();
    state.timer = setInterval(refreshConversation, 2000);
  }

  function conversationAction(path, body, done) {
    $("conv-error").textContent = "";
    return api("POST", "/api/conversations/" + encodeURIComponent(state.conversation) + path, body).then(function (r) {
      if (r.status === 409) $("conv-error").textContent = "您没有接入这个会话（或已被他人接入/已结束）。";
      else if (r.status === 503) $("conv-error").textContent = "消息未送达：服务暂时不可用，已保存并会自动重试。";
      else if (r.status !== 200) $("conv-error").textContent = "操作失败（" + r.status + "）。";
      if (done) done(r);
      refreshConversation();
      return r;
    });
  }

  $("reply-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var box = event.target.text;
    var text = box.value.trim();
    if (!text) return;
    conversationAction("/messages", { text: text }, function (r) {
      if (r.status === 200 || r.status === 503) box.value = "";
      if (r.status === 200 && r.data.status === "window_closed") $("conv-error").textContent = label("status", "window_closed");
    });
  });

  $("handback-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var amount = event.target.amount.value.trim();
    var body = amount ? { slots: { amount: amount } } : {};
    conversationAction("/handback", body, function (r) { if (r.status === 200) openQueue(); });
  });

  $("close-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var note = event.target.note.value.trim();
    if (!note) { $("conv-error").textContent = "结案前请写处理说明。"; return; }
    conversationAction("/close", { note: note }, function (r) { if (r.status === 200) { event.target.note.value = ""; openQueue(); } });
  });

  $("claim-here").addEventListener("click", function () { claim(state.conversation); });

  // ---------------------------------------------------------------- review

  // Empty dates ask the server for its default (the last 7 China days); the answer names the dates it used.
  function rangeParams(form) {
    var params = new URLSearchParams();
    ["from", "to"].forEach(function (name) { if (form[name].value) params.set(name, form[name].value); });
    return params;
  }
  function showRange(form, range) {
    if (!range) return;
    form.from.value = range.from;
    form.to.value = range.to;
  }

  function openReview() {
    show("review");
    var select = $("review-scenario");
    if (select.options.length === 1) {
      Object.keys(LABELS.scenario).forEach(function (key) {
        var option = el("option", LABELS.scenario[key]);
        option.value = key;
        select.appendChild(option);
      });
    }
    loadReview();
  }

  function loadReview() {
    var form = $("review-form");
    var params = rangeParams(form);
    ["channel", "scenario"].forEach(function (name) { if (form[name].value) params.set(name, form[name].value); });
    ["fallback", "low_confidence", "handover", "fraud_report", "failed_check"].forEach(function (name) {
      if (form[name].checked) params.set(name, "1");
    });
    api("GET", "/api/review?" + params.toString()).then(function (r) {
      var rows = $("review-rows");
      clear(rows);
      if (r.status !== 200) { $("review-error").textContent = "读取失败（" + r.status + "）。"; return; }
      $("review-error").textContent = "";
      showRange(form, r.data.range);
      r.data.conversations.forEach(function (item) {
        var row = el("tr");
        var link = el("button", item.conversation_id, "link mono");
        link.type = "button";
        link.addEventListener("click", function () { openReviewConversation(item.conversation_id); });
        var cell = el("td");
        cell.appendChild(link);
        row.appendChild(cell);
        row.appendChild(el("td", item.started_text));
        row.appendChild(el("td", label("channel", item.channel)));
        row.appendChild(el("td", label("scenario", item.scenario)));
        row.appendChild(el("td", item.user_messages));
        row.appendChild(el("td", Object.keys(item.flags).filter(function (k) { return item.flags[k]; })
          .map(function (k) { return label("flag", k); }).join("、")));
        row.appendChild(el("td", item.first_message));
        rows.appendChild(row);
      });
    });
  }

  $("review-form").addEventListener("submit", function (event) { event.preventDefault(); loadReview(); });

  function openReviewConversation(id) {
    api("GET", "/api/conversations/" + encodeURIComponent(id)).then(function (r) {
      if (r.status !== 200) return;
      $("review-detail").hidden = false;
      $("review-id").textContent = id;
      $("review-story").href = "/api/export/story/" + encodeURIComponent(id);
      renderTranscript($("review-transcript"), r.data.messages, { review: true, id: id, labels: r.data.labels });
    });
  }

  // ---------------------------------------------------------------- dashboard

  function bars(node, items, valueOf, nameOf) {
    clear(node);
    var max = Math.max.apply(null, items.map(valueOf).concat([1]));
    var ns = "http://www.w3.org/2000/svg";
    var rowHeight = 26, width = 420, labelWidth = 120;
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 " + width + " " + Math.max(rowHeight, items.length * rowHeight));
    svg.setAttribute("role", "img");
    items.forEach(function (item, index) {
      var y = index * rowHeight;
      var name = document.createElementNS(ns, "text");
      name.setAttribute("x", 0); name.setAttribute("y", y + 17);
      name.textContent = nameOf(item);
      var bar = document.createElementNS(ns, "rect");
      var length = (width - labelWidth - 40) * valueOf(item) / max;
      bar.setAttribute("x", labelWidth); bar.setAttribute("y", y + 5);
      bar.setAttribute("width", Math.max(1, length)); bar.setAttribute("height", 16);
      bar.setAttribute("class", "bar");
      var value = document.createElementNS(ns, "text");
      value.setAttribute("x", labelWidth + length + 6); value.setAttribute("y", y + 17);
      value.textContent = valueOf(item);
      svg.appendChild(name); svg.appendChild(bar); svg.appendChild(value);
    });
    if (!items.length) node.appendChild(el("p", "这段时间没有数据。", "muted"));
    else node.appendChild(svg);
  }

  function percent(value) { return value == null ? "—" : (value * 100).toFixed(1) + "%"; }

  function openDashboard() {
    show("dashboard");
    loadDashboard();
  }

  function loadDashboard() {
    var form = $("dash-form");
    api("GET", "/api/dashboard?" + rangeParams(form).toString()).then(function (r) {
      if (r.status !== 200) { $("dash-error").textContent = "读取失败（" + r.status + "）。"; return; }
      $("dash-error").textContent = "";
      var d = r.data;
      showRange(form, d.range);
      var cards = $("dash-cards");
      clear(cards);
      [["会话数", d.conversations], ["无需人工解决", percent(d.resolved_without_person)], ["转人工率", percent(d.handover_rate)],
       ["未听懂占比（按消息）", percent(d.fallback_rate)], ["人工接入等待中位数", d.median_wait_s == null ? "—" : duration(d.median_wait_s)]]
        .forEach(function (pair) {
          var card = el("div", null, "card stat");
          card.appendChild(el("div", pair[1], "value"));
          card.appendChild(el("div", pair[0], "name"));
          cards.appendChild(card);
        });
      bars($("chart-days"), d.per_day, function (x) { return x.conversations; }, function (x) { return x.day.slice(5); });
      bars($("chart-reasons"), Object.keys(d.handover_reasons).map(function (k) { return { name: k, n: d.handover_reasons[k] }; }),
        function (x) { return x.n; }, function (x) { return label("reason", x.name); });
      bars($("chart-scenarios"), d.top_scenarios, function (x) { return x.count; }, function (x) { return label("scenario", x.scenario); });
    });
  }

  $("dash-form").addEventListener("submit", function (event) { event.preventDefault(); loadDashboard(); });

  // ---------------------------------------------------------------- start

  api("GET", "/api/me").then(function (r) {
    if (r.status === 200) signedIn(r.data);
    else showLogin();
  });
})();
