// IPT Companion chat widget: one <script> tag on a clinic's page.
//
//   <script src="https://assistant.example/widget.js" data-title="Ask about IPT"
//           data-color="#2f6b66" data-lang="en" defer></script>
//
// A web component (shadow DOM, so the clinic's CSS and ours never mix) that talks to our
// web server: POST /api/session for a signed conversation id, then socket.io (proxied to
// Rasa). See docs/widget.md for the attributes, the crisis convention and the design.
import { io } from 'socket.io-client';
import { LABELS } from './labels.js';
import { STYLE } from './style.js';
import { contrast, parseHex, readableOn } from './color.js';

const TAG = 'ipt-companion-chat';
const STORE = 'ipt-chat.';
const MAX_CHARS = 2000;
const TYPING_TIMEOUT_MS = 30000;
// When the assistant has not answered by then, the widget shows our web server's own answer
// (POST /api/help), which always carries the emergency number and crisis lines. A message
// the server's quick check reads as a crisis waits less: its numbers must not wait on Rasa.
// While the assistant is known to be unreachable, the server's answer is shown at once.
const REPLY_TIMEOUT_MS = 10000;
const CRISIS_TIMEOUT_MS = 3000;
const OFFLINE_TIMEOUT_MS = 2000;
// Where the panel covers the whole screen (style.js, the same width): there it is a modal
// dialog (aria-modal, Tab kept inside); on a wider screen it floats beside the page.
const COVERS_SCREEN = '(max-width: 480px)';
// What Tab can reach inside the panel (the focus trap cycles through these).
const FOCUSABLE = 'a[href], button:not([disabled]), textarea:not([disabled]), input:not([disabled]), [tabindex]:not([tabindex="-1"])';

// Captured now: document.currentScript is only set while this file first runs.
const SCRIPT = document.currentScript;

function attr(name, fallback) {
  const value = SCRIPT && SCRIPT.getAttribute(name);
  return value === null || value === undefined || value === '' ? fallback : value;
}

function defaultServer() {
  try {
    return new URL(SCRIPT.src, location.href).origin;
  } catch (_) {
    return location.origin;
  }
}

// localStorage: one conversation across the tabs and visits of this browser (a linked client
// keeps theirs, and their reminders find them). On a shared computer that would outlive the
// visit, so the header has a "Forget this chat" button that wipes it here, in every tab.
// Storage may be blocked: then the widget still works, it only forgets on reload.
const storage = {
  get(key) {
    try { return JSON.parse(localStorage.getItem(STORE + key)); } catch (_) { return null; }
  },
  set(key, value) {
    try { localStorage.setItem(STORE + key, JSON.stringify(value)); } catch (_) { /* blocked */ }
  },
  remove(key) {
    try { localStorage.removeItem(STORE + key); } catch (_) { /* blocked */ }
  },
};

// An id for a message: the server answers a resent one once, and tabs merge by it.
function newId() {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, '');
    else if (value !== false && value !== null && value !== undefined) node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

// A phone number in a crisis message: at least 3 digits, spaces or dashes between groups.
const PHONE = /(\+?\d[\d \-]{1,16}\d)/g;

// In a crisis message phone numbers become tel: links: one tap to call on a phone.
function phoneLinks(text) {
  const frag = document.createDocumentFragment();
  String(text).split(PHONE).forEach((part, i) => {
    const digits = part.replace(/\D/g, '');
    if (i % 2 === 1 && digits.length >= 3) {
      frag.append(el('a', { href: `tel:${part.trim().startsWith('+') ? '+' : ''}${digits}`, text: part }));
    } else if (part) {
      frag.append(document.createTextNode(part));
    }
  });
  return frag;
}

// Text only, never HTML from the server: web addresses become links, the rest stays text.
function richText(text, crisis = false) {
  const frag = document.createDocumentFragment();
  const parts = String(text).split(/(https?:\/\/[^\s<>"')]+)/g);
  parts.forEach((part, i) => {
    if (i % 2 === 1) {
      frag.append(el('a', { href: part, target: '_blank', rel: 'noopener noreferrer', text: part }));
    } else if (part) {
      frag.append(crisis ? phoneLinks(part) : document.createTextNode(part));
    }
  });
  return frag;
}

const ICON_CHAT = '<svg class="icon-chat" viewBox="0 0 24 24" width="26" height="26" aria-hidden="true" focusable="false"><path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-4.5 3.6A.9.9 0 0 1 3 20.9V6a2 2 0 0 1 1-2zm3 6.2a1.3 1.3 0 1 0 0 2.6 1.3 1.3 0 0 0 0-2.6zm5 0a1.3 1.3 0 1 0 0 2.6 1.3 1.3 0 0 0 0-2.6zm5 0a1.3 1.3 0 1 0 0 2.6 1.3 1.3 0 0 0 0-2.6z"/></svg>';
const ICON_CLOSE = '<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false"><path fill="currentColor" d="M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4L12 13.4 6.4 19 5 17.6 10.6 12 5 6.4z"/></svg>';
const ICON_DOWN = '<svg class="icon-down" viewBox="0 0 24 24" width="26" height="26" aria-hidden="true" focusable="false"><path fill="currentColor" d="M12 15.6 5.7 9.3l1.4-1.4 4.9 4.9 4.9-4.9 1.4 1.4z"/></svg>';
const ICON_SEND = '<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false"><path fill="currentColor" d="M3.4 20.4 21 12 3.4 3.6l-.1 6.5L15 12 3.3 13.9z"/></svg>';

class IptCompanionChat extends HTMLElement {
  constructor() {
    super();
    this.config = {
      server: attr('data-server', defaultServer()).replace(/\/$/, ''),
      title: attr('data-title', 'IPT Companion'),
      color: parseHex(attr('data-color', '')) ? `#${attr('data-color', '').trim().replace(/^#/, '')}` : '#2f6b66',
      lang: attr('data-lang', 'en'),
      initPayload: attr('data-init-payload', '/greet'),
    };
    this.t = LABELS[this.config.lang] || LABELS[this.config.lang.split('-')[0]] || LABELS.en;
    this.socket = null;
    this.session = null; // {session_id, conversation_id}
    this.confirmed = false; // the channel accepted our session on this connection
    // Messages not yet acknowledged by the server ({id, payload}), kept across reloads and
    // resent after every (re)connection until their acknowledgement comes.
    this.unacked = storage.get('unacked') || [];
    this.transcript = [];
    this.typingTimer = null;
    this.resources = storage.get('resources'); // the clinic's numbers, from /api/session
    this.waiting = null; // the visitor's message still without an answer: {text, timer}
    this.attachShadow({ mode: 'open' });
  }

  connectedCallback() {
    if (this.built) return;
    this.built = true;
    this.render();
    this.restore();
    if (storage.get('open')) this.open({ focus: false });
    // Another tab of this browser wrote the conversation, or forgot it: follow.
    window.addEventListener('storage', (e) => this.otherTab(e));
  }

  otherTab(e) {
    if (e.key === null || e.key === `${STORE}session`) {
      const stored = storage.get('session');
      if (!stored) { this.forget(false); return; }
      if (!this.session || stored.conversation_id !== this.session.conversation_id) {
        this.session = stored;
        if (this.socket) this.socket.emit('session_request', { session_id: stored.session_id });
        this.reload();
      }
    } else if (this.session && e.key === `${STORE}log.${this.session.conversation_id}`) {
      this.reload();
    }
  }

  // Forget this conversation on this browser (every tab): a shared computer keeps nothing.
  forget(everywhere = true) {
    if (everywhere && !window.confirm(this.t.forgetConfirm)) return;
    const stored = storage.get('session');
    if (stored) storage.remove(`log.${stored.conversation_id}`);
    if (this.session) storage.remove(`log.${this.session.conversation_id}`);
    for (const key of ['session', 'unacked', 'resources']) storage.remove(key);
    if (this.socket) { this.socket.disconnect(); this.socket = null; }
    this.session = null;
    this.confirmed = false;
    this.greeted = false;
    this.unacked = [];
    this.transcript = [];
    this.messages.textContent = '';
    this.stopWatching();
    this.setTyping(false);
    this.hideCrisis();
    if (!this.panel.hidden) this.connect();
  }

  render() {
    const { t, config } = this;
    const fg = readableOn(config.color);
    const style = el('style', { text: STYLE });
    const host = this.shadowRoot;
    host.append(style);
    this.style.setProperty('--ipt-accent', config.color);
    this.style.setProperty('--ipt-on-accent', fg);
    // A light accent would make accent-coloured text unreadable on white: fall back.
    this.style.setProperty('--ipt-accent-text', contrast(config.color, '#ffffff') >= 4.5 ? config.color : '#1f4f4b');

    // The accessible name starts with the words on the button (WCAG 2.5.3, label in name):
    // "Questions about IPT? Open chat: <title>"; at phone width the words are hidden and the
    // icon alone shows.
    this.launcher = el('button', {
      class: 'launcher', type: 'button', 'aria-expanded': 'false', 'aria-controls': 'ipt-panel',
      'aria-label': this.openName(), onclick: () => this.toggle(),
    });
    this.launcher.innerHTML = ICON_CHAT + ICON_DOWN;
    this.launcher.append(el('span', { class: 'launcher-label', text: t.launcher }));

    this.closeButton = el('button', {
      class: 'close', type: 'button', 'aria-label': t.close, onclick: () => this.close(),
    });
    this.closeButton.innerHTML = ICON_CLOSE;

    // The crisis texts may scroll (style.js caps their height): a Tab stop with a name, so a
    // keyboard can scroll them too (axe: scrollable-region-focusable).
    this.crisisBody = el('div', {
      class: 'crisis-body', role: 'group', 'aria-label': t.crisisWords, tabindex: '0',
    });
    this.crisisResources = el('div', { class: 'crisis-resources' });
    this.crisisToggle = el('button', {
      class: 'crisis-toggle', type: 'button', 'aria-expanded': 'true', 'aria-controls': 'ipt-crisis-details',
      text: t.crisisHide, onclick: () => this.toggleCrisis(),
    });
    this.crisis = el('div', { class: 'crisis', role: 'alert', hidden: true }, [
      el('div', { class: 'crisis-head' }, [
        el('p', { class: 'crisis-title', text: t.crisisTitle }), this.crisisToggle,
      ]),
      // The numbers first, fully in view; the crisis texts after them scroll if they must.
      el('div', { id: 'ipt-crisis-details' }, [this.crisisResources, this.crisisBody]),
    ]);

    this.status = el('div', { class: 'status', role: 'status' });
    // The live region holds the list: on the <ol> itself role="log" would take its list
    // semantics away, leaving its items without a list (axe: listitem).
    this.messages = el('ol', { class: 'messages' });
    this.log = el('div', {
      class: 'log', role: 'log', 'aria-live': 'polite', 'aria-label': t.conversation, tabindex: '0',
    }, [this.messages]);
    this.typing = el('div', { class: 'typing', hidden: true }, [
      el('span', { class: 'sr-only', text: t.typing }),
      el('span', { class: 'dot', 'aria-hidden': 'true' }),
      el('span', { class: 'dot', 'aria-hidden': 'true' }),
      el('span', { class: 'dot', 'aria-hidden': 'true' }),
    ]);

    this.input = el('textarea', {
      id: 'ipt-input', rows: '1', maxlength: String(MAX_CHARS), placeholder: t.placeholder,
      autocomplete: 'off', onkeydown: (e) => {
        if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
          e.preventDefault();
          this.submit();
        }
      },
    });
    this.sendButton = el('button', { class: 'send', type: 'submit', 'aria-label': t.send });
    this.sendButton.innerHTML = ICON_SEND;
    const form = el('form', {
      class: 'composer', onsubmit: (e) => { e.preventDefault(); this.submit(); },
    }, [el('label', { class: 'sr-only', for: 'ipt-input', text: t.message }), this.input, this.sendButton]);

    this.panel = el('section', {
      id: 'ipt-panel', class: 'panel', role: 'dialog', 'aria-labelledby': 'ipt-title',
      'aria-describedby': 'ipt-disclaimer', hidden: true,
      onkeydown: (e) => {
        if (e.key === 'Escape') { e.stopPropagation(); this.close(); } else if (e.key === 'Tab') this.trapTab(e);
      },
    }, [
      // A <div>, not a <header>: inside the dialog a header would be read as a second banner
      // landmark next to the clinic page's own.
      el('div', { class: 'panel-head' }, [
        el('div', { class: 'heading' }, [
          el('h2', { id: 'ipt-title', text: config.title }),
          el('p', { id: 'ipt-disclaimer', class: 'disclaimer', text: t.disclaimer }),
        ]),
        el('button', {
          class: 'forget', type: 'button', text: t.forget,
          onclick: () => this.forget(),
        }),
        this.closeButton,
      ]),
      this.crisis,
      this.status,
      this.log,
      this.typing,
      form,
    ]);
    host.append(this.panel, this.launcher);
    this.coversScreen = window.matchMedia ? window.matchMedia(COVERS_SCREEN) : null;
    if (this.coversScreen) {
      const update = () => this.updateModality();
      if (this.coversScreen.addEventListener) this.coversScreen.addEventListener('change', update);
      else if (this.coversScreen.addListener) this.coversScreen.addListener(update);
    }
    this.updateModality();
  }

  openName() {
    return `${this.t.launcher} ${this.t.open.replace('{title}', this.config.title)}`;
  }

  // ---- modal at phone width ----------------------------------------------------------

  isModal() {
    return Boolean(this.coversScreen && this.coversScreen.matches);
  }

  // Covering the screen, the panel is a modal dialog: the page behind is out of reach for
  // assistive technology too. Floating beside the page on a wide screen, it is not.
  updateModality() {
    if (this.isModal()) this.panel.setAttribute('aria-modal', 'true');
    else this.panel.removeAttribute('aria-modal');
  }

  // Tab and Shift+Tab cycle through the panel's controls while it covers the screen: the
  // page's links behind it are hidden, so focus must not go there.
  trapTab(e) {
    if (!this.isModal()) return;
    const stops = Array.from(this.panel.querySelectorAll(FOCUSABLE))
      .filter((node) => node.getClientRects().length > 0);
    if (!stops.length) return;
    const first = stops[0];
    const last = stops[stops.length - 1];
    const active = this.shadowRoot.activeElement;
    if (e.shiftKey && (active === first || !stops.includes(active))) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && (active === last || !stops.includes(active))) {
      e.preventDefault();
      first.focus();
    }
  }

  // ---- open / close ------------------------------------------------------------------

  toggle() {
    if (this.panel.hidden) this.open();
    else this.close();
  }

  open({ focus = true } = {}) {
    this.panel.hidden = false;
    this.launcher.setAttribute('aria-expanded', 'true');
    this.launcher.setAttribute('aria-label', this.t.close);
    this.classList.add('is-open');
    storage.set('open', true);
    this.scrollToEnd();
    if (focus) this.input.focus();
    this.connect();
  }

  close() {
    this.panel.hidden = true;
    this.launcher.setAttribute('aria-expanded', 'false');
    this.launcher.setAttribute('aria-label', this.openName());
    this.classList.remove('is-open');
    storage.set('open', false);
    this.launcher.focus(); // back where the visitor started
  }

  // ---- conversation ------------------------------------------------------------------

  async fetchSession(stored) {
    const response = await fetch(`${this.config.server}/api/session`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(stored ? { session_id: stored } : {}),
      credentials: 'omit',
    });
    if (!response.ok) throw new Error(`session ${response.status}`);
    return response.json();
  }

  async connect() {
    if (this.socket || this.connecting) return;
    this.connecting = true;
    try {
      await this.sessionReady();
    } catch (_) {
      this.connecting = false;
      this.setStatus(this.t.offline, true);
      setTimeout(() => { if (!this.socket) this.connect(); }, 3000);
      return;
    }
    this.connecting = false;
    const socket = io(this.config.server, {
      path: '/socket.io/',
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000,
      withCredentials: false,
    });
    this.socket = socket;
    this.setStatus(this.t.connecting);
    socket.on('connect', () => {
      this.everConnected = true;
      this.confirmed = false;
      socket.emit('session_request', { session_id: this.session.session_id });
    });
    socket.on('session_confirm', () => {
      this.confirmed = true;
      this.unreachable = false;
      this.setStatus('');
      if (!this.transcript.length && this.config.initPayload && !this.greeted) {
        this.greeted = true;
        this.emitMessage(this.config.initPayload);
      }
      // Whatever the server has not acknowledged is sent again: typed while offline, or
      // on its way when the assistant restarted. The server answers each id once.
      for (const message of this.unacked) this.emitMessage(message.payload, message.id);
    });
    socket.on('message_ack', (data) => {
      if (!data || typeof data.message_id !== 'string') return;
      this.unacked = (storage.get('unacked') || this.unacked).filter((m) => m.id !== data.message_id);
      storage.set('unacked', this.unacked);
    });
    socket.on('session_refused', async () => {
      // Expired or unknown to this server's secret: start a new conversation once.
      this.confirmed = false;
      if (this.refusedOnce) { this.setStatus(this.t.offline, true); return; }
      this.refusedOnce = true;
      try {
        await this.ensureSession(true);
        socket.emit('session_request', { session_id: this.session.session_id });
      } catch (_) {
        this.setStatus(this.t.offline, true);
      }
    });
    socket.on('bot_uttered', (message) => this.receive(message));
    socket.on('connect_error', () => {
      this.unreachable = true; // our server answered, the assistant behind it did not
      if (!this.confirmed) this.setStatus(this.t.offline, true);
    });
    socket.on('disconnect', () => {
      this.confirmed = false;
      this.setStatus(this.t.reconnecting, true);
    });
    socket.io.on('reconnect_attempt', () => {
      if (this.everConnected) this.setStatus(this.t.reconnecting, true);
    });
  }

  // One session request at a time: connecting and the quick check may both need it.
  sessionReady() {
    if (!this.sessionPromise) {
      this.sessionPromise = this.ensureSession().finally(() => { this.sessionPromise = null; });
    }
    return this.sessionPromise;
  }

  async ensureSession(forceNew = false) {
    const stored = forceNew ? null : storage.get('session');
    const session = await this.fetchSession(stored && stored.session_id);
    if (forceNew || (stored && session.conversation_id !== stored.conversation_id)) {
      // A new conversation: the old transcript belongs to one the server no longer accepts.
      // (A first visit has none; what the visitor typed while this loaded stays.)
      if (stored) storage.remove(`log.${stored.conversation_id}`);
      this.transcript = [];
      this.messages.textContent = '';
      this.hideCrisis();
    }
    this.session = { session_id: session.session_id, conversation_id: session.conversation_id };
    storage.set('session', this.session);
    if (session.resources && typeof session.resources === 'object') {
      this.resources = session.resources;
      storage.set('resources', this.resources);
      if (!this.crisis.hidden) this.renderResources();
    }
  }

  restore() {
    const stored = storage.get('session');
    if (!stored) return;
    this.session = stored;
    const transcript = storage.get(`log.${stored.conversation_id}`);
    if (!Array.isArray(transcript)) return;
    this.transcript = transcript;
    transcript.forEach((entry, i) => this.renderEntry(entry, i === transcript.length - 1));
    const last = transcript.map((e) => e.crisis).lastIndexOf(true);
    if (last >= 0) {
      const texts = [];
      for (let i = last; i >= 0 && transcript[i].who === 'bot'; i -= 1) {
        if (transcript[i].crisis) texts.unshift(transcript[i].text);
      }
      this.showCrisis(texts);
    }
  }

  save() {
    if (this.session) storage.set(`log.${this.session.conversation_id}`, this.transcript);
  }

  submit() {
    const text = this.input.value.replace(/\s+$/, '').replace(/^\s+/, '');
    if (!text) return;
    this.input.value = '';
    this.send(text, text);
  }

  // Show `shown` as the visitor's message and send `payload` (a button's payload or the text).
  send(shown, payload) {
    this.clearReplies();
    const id = newId();
    this.add({ who: 'user', text: shown, id });
    this.unacked.push({ id, payload });
    storage.set('unacked', this.unacked);
    const online = Boolean(this.socket && this.confirmed);
    if (online) this.emitMessage(payload, id);
    else {
      this.setTyping(true);
      this.connect();
    }
    this.watchReply(shown, online);
  }

  // No message goes unanswered: ask our web server's quick check at once, and if the
  // assistant has not answered in time, show the server's answer (numbers included).
  watchReply(text, online) {
    this.stopWatching();
    const waiting = { text, answer: null, timer: null };
    this.waiting = waiting;
    const arm = (ms) => {
      clearTimeout(waiting.timer);
      waiting.timer = setTimeout(() => this.replyTimedOut(waiting), ms);
    };
    arm(this.unreachable ? OFFLINE_TIMEOUT_MS : REPLY_TIMEOUT_MS);
    waiting.request = this.askEdge(text).then((answer) => {
      waiting.answer = answer;
      if (this.waiting !== waiting || !answer) return;
      // Known to be unreachable: answer now. A crisis while still connecting: now too.
      if (this.unreachable || (!online && answer.crisis)) arm(0);
      else if (answer.crisis) arm(CRISIS_TIMEOUT_MS);
    }, () => { /* the server is unreachable too: the built-in text below */ });
  }

  stopWatching() {
    if (this.waiting) clearTimeout(this.waiting.timer);
    this.waiting = null;
  }

  async askEdge(text) {
    if (!this.session) await this.sessionReady();
    const response = await fetch(`${this.config.server}/api/help`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ session_id: this.session.session_id, message: text }),
      credentials: 'omit',
    });
    if (!response.ok) throw new Error(`help ${response.status}`);
    return response.json();
  }

  async replyTimedOut(waiting) {
    if (this.waiting !== waiting) return; // the assistant answered meanwhile
    // The quick check may still be on its way: give it a little longer than the timer.
    if (!waiting.answer) {
      await Promise.race([waiting.request, new Promise((r) => { setTimeout(r, OFFLINE_TIMEOUT_MS); })]);
    }
    if (this.waiting !== waiting) return;
    this.waiting = null;
    this.setTyping(false);
    const answer = waiting.answer;
    if (answer && answer.resources) {
      this.resources = answer.resources;
      storage.set('resources', this.resources);
    }
    const messages = answer && Array.isArray(answer.messages) && answer.messages.length
      ? answer.messages.filter((m) => m && typeof m.text === 'string')
      : [{ text: `${this.t.unreachable} ${this.t.crisisNote}`, help: true }];
    for (const m of messages) {
      this.add({ who: 'bot', text: m.text, replies: [], crisis: m.crisis === true, help: true });
    }
    if (messages.some((m) => m.crisis === true)) this.showCrisis(this.crisisTextsOfThisTurn());
  }

  emitMessage(payload, id = null) {
    this.setTyping(true);
    const data = { message: payload, session_id: this.session.session_id };
    if (id) data.message_id = id;
    this.socket.emit('user_uttered', data);
  }

  receive(message) {
    if (!message || typeof message !== 'object') return;
    if (Number.isInteger(message.outbox_id)) {
      // A reminder from the outbox: shown once (it may come again if an acknowledgement
      // was lost), then acknowledged, which is when it counts as delivered.
      const key = `outbox-${message.outbox_id}-${message.outbox_index}`;
      const seen = this.transcript.some((e) => e.id === key);
      if (this.socket) this.socket.emit('outbox_ack', { outbox_id: message.outbox_id });
      if (seen) return;
      message = { ...message, id: key };
    }
    this.setTyping(false);
    this.stopWatching();
    const custom = message.custom && typeof message.custom === 'object' ? message.custom : null;
    if (custom && custom.crisis === true) {
      // The crisis flag came on its own: the crisis texts are the bot's messages since the
      // visitor last wrote (docs/widget.md, "Crisis convention").
      const texts = [];
      for (let i = this.transcript.length - 1; i >= 0 && this.transcript[i].who === 'bot'; i -= 1) {
        this.transcript[i].crisis = true;
        texts.unshift(this.transcript[i].text);
      }
      if (typeof custom.banner === 'string') texts.push(custom.banner);
      this.markCrisisBubbles();
      this.save();
      this.showCrisis(texts);
      return;
    }
    if (typeof message.text !== 'string' || !message.text) return;
    const replies = Array.isArray(message.quick_replies)
      ? message.quick_replies.filter((r) => r && r.title && r.payload).map((r) => ({ title: String(r.title), payload: String(r.payload) }))
      : [];
    const entry = { who: 'bot', text: message.text, replies, crisis: message.crisis === true };
    if (typeof message.id === 'string') entry.id = message.id;
    if (!this.add(entry)) return;
    if (entry.crisis) this.showCrisis(this.crisisTextsOfThisTurn());
  }

  // Add an entry; false when another tab of this browser added it already (same id).
  add(entry) {
    entry.id = entry.id || newId();
    const stored = this.session && storage.get(`log.${this.session.conversation_id}`);
    if (Array.isArray(stored) && stored.length > this.transcript.length) this.reload(stored);
    if (this.transcript.some((e) => e.id === entry.id)) return false;
    if (entry.who === 'bot' && entry.replies && entry.replies.length) this.clearReplies();
    this.transcript.push(entry);
    this.save();
    this.renderEntry(entry, true);
    this.scrollToEnd();
    return true;
  }

  // Show the conversation as stored (another tab wrote to it).
  reload(stored = null) {
    const transcript = stored || (this.session && storage.get(`log.${this.session.conversation_id}`));
    this.transcript = Array.isArray(transcript) ? transcript : [];
    this.messages.textContent = '';
    this.transcript.forEach((e, i) => this.renderEntry(e, i === this.transcript.length - 1));
    this.scrollToEnd();
  }

  renderEntry(entry, isLast) {
    const who = entry.who === 'user' ? this.t.you : this.t.assistant;
    const bubble = el('div', { class: 'bubble' }, [richText(entry.text, entry.crisis || entry.help)]);
    const item = el('li', { class: `msg ${entry.who}${entry.crisis ? ' crisis-msg' : ''}` }, [
      el('span', { class: 'sr-only', text: `${who}: ` }), bubble,
    ]);
    if (entry.who === 'bot' && isLast && entry.replies && entry.replies.length) {
      const group = el('div', { class: 'replies', role: 'group', 'aria-label': this.t.suggestions });
      for (const reply of entry.replies) {
        group.append(el('button', {
          type: 'button', class: 'reply', text: reply.title,
          onclick: () => { this.send(reply.title, reply.payload); this.input.focus(); },
        }));
      }
      item.append(group);
    }
    this.messages.append(item);
  }

  clearReplies() {
    for (const group of this.log.querySelectorAll('.replies')) group.remove();
    for (const entry of this.transcript) if (entry.replies && entry.replies.length) entry.replies = [];
  }

  markCrisisBubbles() {
    const items = this.log.querySelectorAll('li.msg');
    this.transcript.forEach((entry, i) => {
      if (entry.crisis && items[i]) items[i].classList.add('crisis-msg');
    });
  }

  // The crisis messages since the visitor last wrote: the response the banner repeats.
  crisisTextsOfThisTurn() {
    const texts = [];
    for (let i = this.transcript.length - 1; i >= 0 && this.transcript[i].who === 'bot'; i -= 1) {
      if (this.transcript[i].crisis) texts.unshift(this.transcript[i].text);
    }
    return texts;
  }

  showCrisis(texts) {
    this.renderResources();
    this.crisisBody.textContent = '';
    // The resources are already listed above: the body keeps only the words around them.
    for (const text of texts) {
      if (!this.isResourceText(text)) this.crisisBody.append(el('p', {}, [richText(text, true)]));
    }
    this.crisis.hidden = false;
    this.toggleCrisis(true);
  }

  isResourceText(text) {
    const res = this.resources;
    if (!res || typeof res.emergency !== 'string') return false;
    const marks = [res.emergency, res.directory];
    for (const line of Array.isArray(res.lines) ? res.lines : []) {
      if (line) marks.push(line.name, line.phone, line.web);
    }
    return marks.some((mark) => typeof mark === 'string' && mark && String(text).includes(mark));
  }

  // The emergency number first, as a tap-to-call link, then every crisis line of the clinic.
  renderResources() {
    const res = this.resources;
    this.crisisResources.textContent = '';
    if (!res || typeof res.emergency !== 'string') {
      this.crisisResources.append(el('p', { class: 'crisis-call', text: this.t.crisisNote }));
      return;
    }
    const call = el('p', { class: 'crisis-call' }, [`${this.t.crisisCall} `]);
    if (typeof res.emergency_number === 'string' && res.emergency_number) {
      const digits = res.emergency_number.replace(/\D/g, '');
      call.append(el('a', {
        class: 'crisis-number', href: `tel:${res.emergency_number.trim().startsWith('+') ? '+' : ''}${digits}`,
        text: res.emergency_number,
      }));
    } else {
      call.append(phoneLinks(res.emergency));
    }
    this.crisisResources.append(call);
    const lines = Array.isArray(res.lines) ? res.lines.filter((l) => l && l.name) : [];
    if (lines.length) {
      const list = el('ul', { class: 'crisis-lines', 'aria-label': this.t.crisisLines });
      for (const line of lines) {
        const item = el('li', { class: 'crisis-line' }, [el('span', { class: 'line-name', text: line.name })]);
        const ways = [];
        if (line.phone) ways.push(phoneLinks(line.phone));
        if (line.text) ways.push(document.createTextNode(String(line.text)));
        if (line.web) ways.push(richText(String(line.web)));
        ways.forEach((way, i) => {
          item.append(i ? ' · ' : ' ');
          item.append(el('span', { class: 'line-way' }, [way]));
        });
        list.append(item);
      }
      this.crisisResources.append(list);
    } else if (typeof res.directory === 'string') {
      this.crisisResources.append(el('p', { class: 'crisis-line' }, [
        `${this.t.crisisDirectory} `, richText(res.directory),
      ]));
    }
  }

  // The visitor may fold the banner to read the conversation; its title stays in view.
  toggleCrisis(open = this.crisis.classList.contains('folded')) {
    this.crisis.classList.toggle('folded', !open);
    this.crisisToggle.setAttribute('aria-expanded', String(open));
    this.crisisToggle.textContent = open ? this.t.crisisHide : this.t.crisisShow;
  }

  hideCrisis() {
    this.crisis.hidden = true;
    this.crisisBody.textContent = '';
  }

  setTyping(on) {
    clearTimeout(this.typingTimer);
    this.typing.hidden = !on;
    if (on) {
      this.typingTimer = setTimeout(() => { this.typing.hidden = true; }, TYPING_TIMEOUT_MS);
      this.scrollToEnd();
    }
  }

  setStatus(text, warn = false) {
    this.status.textContent = text;
    this.status.classList.toggle('warn', Boolean(text) && warn);
  }

  scrollToEnd() {
    requestAnimationFrame(() => { this.log.scrollTop = this.log.scrollHeight; });
  }
}

if (!customElements.get(TAG)) customElements.define(TAG, IptCompanionChat);

function mount() {
  if (!document.querySelector(TAG)) document.body.append(document.createElement(TAG));
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', mount);
else mount();
