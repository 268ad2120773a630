// The widget's stylesheet, inside its shadow root: the clinic's CSS can't break it and ours
// can't leak. Colours: text pairs checked for WCAG 2.1 AA (docs/widget.md lists them).
export const STYLE = `
:host {
  --ipt-bg: #faf7f2;
  --ipt-surface: #ffffff;
  --ipt-text: #2a2622;
  --ipt-muted: #5e5750;
  --ipt-border: #e4dcd1;
  --ipt-focus: #1f4f9e;
  --ipt-radius: 16px;
  all: initial;
  position: fixed;
  right: 20px;
  bottom: 20px;
  z-index: 2147483000;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--ipt-text);
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
.sr-only {
  position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; border: 0;
}
button { font: inherit; cursor: pointer; }
:focus-visible { outline: 3px solid var(--ipt-focus); outline-offset: 2px; }

.launcher {
  display: inline-flex; align-items: center; gap: 10px;
  min-height: 56px; padding: 0 22px 0 18px; border: 0; border-radius: 999px;
  background: var(--ipt-accent); color: var(--ipt-on-accent);
  box-shadow: 0 6px 20px rgba(40, 30, 20, .22), 0 1px 3px rgba(40, 30, 20, .2);
  font-weight: 600; letter-spacing: .01em;
  transition: transform .15s ease, box-shadow .15s ease;
}
.launcher:hover { transform: translateY(-1px); box-shadow: 0 10px 24px rgba(40, 30, 20, .26); }
.launcher:focus-visible { outline-color: var(--ipt-focus); outline-offset: 3px; }
:host(.is-open) .launcher .launcher-label, :host(.is-open) .icon-chat, .icon-down { display: none; }
:host(.is-open) .icon-down { display: block; }
:host(.is-open) .launcher { padding: 0; width: 56px; justify-content: center; }

.panel {
  position: absolute; right: 0; bottom: 72px;
  width: 380px; height: min(620px, calc(100vh - 110px));
  display: flex; flex-direction: column; overflow: hidden;
  background: var(--ipt-bg); border: 1px solid var(--ipt-border); border-radius: var(--ipt-radius);
  box-shadow: 0 18px 48px rgba(40, 30, 20, .22), 0 2px 6px rgba(40, 30, 20, .12);
}
.panel-head {
  display: flex; align-items: flex-start; gap: 12px; padding: 16px 14px 14px 18px;
  background: var(--ipt-accent); color: var(--ipt-on-accent);
}
.heading { flex: 1; min-width: 0; }
h2 { margin: 0; font-size: 17px; line-height: 1.3; font-weight: 650; }
.disclaimer { margin: 4px 0 0; font-size: 13px; line-height: 1.35; }
.close {
  flex: none; display: grid; place-items: center; width: 36px; height: 36px; margin: -4px -2px 0 0;
  border: 0; border-radius: 10px; background: transparent; color: inherit;
}
.close:hover { background: rgba(255, 255, 255, .16); }
.panel-head :focus-visible { outline-color: var(--ipt-on-accent); outline-offset: 1px; }

/* The crisis banner: never capped as a whole, so the number and the lines are always in
   full view; only the crisis texts after them scroll (they are in the conversation too). */
.crisis {
  flex: none; margin: 10px 10px 0; padding: 10px 12px;
  background: #fdf0ee; border: 1px solid #efc7c2; border-left: 6px solid #a4262c; border-radius: 10px;
  color: #3b1d1b; font-size: 14px; line-height: 1.4;
}
.crisis-head { display: flex; align-items: center; justify-content: space-between; gap: 8px; }
.crisis-title { margin: 0 0 4px; font-weight: 700; color: #7a1a1f; font-size: 15px; }
.crisis-call { margin: 2px 0 4px; font-weight: 700; font-size: 15px; }
.crisis-number {
  display: inline-block; margin-left: 2px; padding: 2px 12px; border-radius: 8px; min-height: 32px;
  line-height: 28px; background: #a4262c; color: #ffffff !important; text-decoration: none;
  font-size: 17px; letter-spacing: .02em;
}
.crisis-number:focus-visible { outline-color: var(--ipt-focus); }
.crisis-lines { margin: 0; padding: 0; list-style: none; }
.crisis-line { margin: 3px 0 0; overflow-wrap: anywhere; }
.line-name { font-weight: 600; }
.crisis a[href^="tel:"] { white-space: nowrap; }
.crisis-body { max-height: 4.4em; overflow-y: auto; margin-top: 6px; padding-top: 4px;
  border-top: 1px solid #efc7c2; }
.crisis-body:empty { display: none; }
.crisis-toggle {
  flex: none; margin: -3px -4px 0 0; padding: 2px 10px; min-height: 28px; border-radius: 8px;
  border: 1px solid #d9a8a2; background: #fff; color: #7a1a1f; font-size: 13px; font-weight: 600;
}
.crisis.folded #ipt-crisis-details { display: none; }
.crisis.folded .crisis-title { margin: 0; }
.crisis-body p { margin: 0 0 6px; white-space: pre-line; }
.crisis a { color: #7a1a1f; }

.status:empty { display: none; }
.status { margin: 10px 12px 0; padding: 6px 10px; border-radius: 8px; font-size: 13px; color: var(--ipt-muted); }
.status.warn { background: #fff4d6; color: #5c4200; }

.log { flex: 1; min-height: 0; overflow-y: auto; padding: 16px 14px 8px; }
.messages { margin: 0; padding: 0; list-style: none; display: flex; flex-direction: column; gap: 10px; }
.log:focus-visible { outline-offset: -3px; }
.msg { display: flex; flex-direction: column; max-width: 88%; }
.msg.bot { align-self: flex-start; }
.msg.user { align-self: flex-end; align-items: flex-end; }
.bubble {
  padding: 10px 14px; border-radius: 14px; white-space: pre-line; overflow-wrap: anywhere;
}
.bot .bubble {
  background: var(--ipt-surface); border: 1px solid var(--ipt-border); border-bottom-left-radius: 4px;
  box-shadow: 0 1px 2px rgba(40, 30, 20, .05);
}
.user .bubble {
  background: var(--ipt-accent); color: var(--ipt-on-accent); border-bottom-right-radius: 4px;
}
.crisis-msg .bubble { border-color: #efc7c2; border-left: 4px solid #a4262c; }
.bubble a { color: var(--ipt-accent-text); }
.user .bubble a { color: inherit; }

.replies { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 10px; }
.reply {
  min-height: 40px; padding: 7px 14px; border-radius: 999px;
  border: 1.5px solid var(--ipt-accent-text); background: var(--ipt-surface); color: var(--ipt-accent-text);
  font-size: 14px; font-weight: 600; text-align: left;
}
.reply:hover { background: var(--ipt-accent); border-color: var(--ipt-accent); color: var(--ipt-on-accent); }

.typing { display: flex; gap: 5px; align-items: center; margin: 0 14px 8px; padding: 12px 14px;
  width: fit-content; background: var(--ipt-surface); border: 1px solid var(--ipt-border); border-radius: 14px; }
.dot { width: 7px; height: 7px; border-radius: 50%; background: #767067; animation: ipt-bounce 1.2s infinite ease-in-out; }
.dot:nth-child(3) { animation-delay: .15s; }
.dot:nth-child(4) { animation-delay: .3s; }
@keyframes ipt-bounce { 0%, 80%, 100% { transform: translateY(0); opacity: .5; } 40% { transform: translateY(-4px); opacity: 1; } }
@media (prefers-reduced-motion: reduce) {
  .dot { animation: none; }
  .launcher { transition: none; }
}

.composer {
  display: flex; align-items: flex-end; gap: 8px; padding: 10px 12px 12px;
  border-top: 1px solid var(--ipt-border); background: var(--ipt-surface);
}
textarea {
  flex: 1; min-height: 44px; max-height: 120px; resize: none; padding: 10px 12px;
  border: 1.5px solid #9a9188; border-radius: 12px; background: #fff; color: var(--ipt-text);
  font: inherit; line-height: 1.4;
}
textarea::placeholder { color: #6b645d; }
textarea:focus { border-color: var(--ipt-accent-text); }
textarea:focus-visible { outline: 3px solid var(--ipt-focus); outline-offset: 1px; }
.send {
  flex: none; display: grid; place-items: center; width: 44px; height: 44px; border: 0; border-radius: 12px;
  background: var(--ipt-accent); color: var(--ipt-on-accent);
}

@media (max-width: 480px) {
  :host { right: 12px; bottom: 12px; }
  .launcher { padding: 0; width: 56px; justify-content: center; }
  .launcher-label { display: none; }
  :host(.is-open) { inset: 0; right: 0; bottom: 0; }
  :host(.is-open) .launcher { display: none; }
  .panel { position: fixed; inset: 0; width: auto; height: auto; border-radius: 0; border: 0; }
  .msg { max-width: 92%; }
}
`;
