// bluegreen-local page: live updates from /events and the emergency switch.
// The admin token stays in sessionStorage and travels only in an Authorization header
// to the routing API: never in a URL, the HTML or the console.
"use strict";

const TOKEN_KEY = "bluegreen-token";
const OPERATOR_KEY = "bluegreen-operator";

function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

// Enables the switch buttons when a token is held (the live part is replaced at
// every frame, so this runs after each one).
function arm() {
  const held = token() !== "";
  for (const b of document.querySelectorAll("button.switch")) {
    b.disabled = !held;
    b.title = held ? "switch all traffic now" : "enter the admin token above to enable";
  }
  const state = document.getElementById("token-state");
  state.hidden = !held;
  state.textContent = held ? "switching enabled (token kept for this tab) " : "";
  if (held && !state.querySelector("button")) {
    const forget = document.createElement("button");
    forget.type = "button";
    forget.textContent = "forget token";
    forget.addEventListener("click", () => {
      sessionStorage.removeItem(TOKEN_KEY);
      arm();
    });
    state.appendChild(forget);
  }
  document.getElementById("token-form").hidden = held;
}

async function putRouting(b, force) {
  const operator = sessionStorage.getItem(OPERATOR_KEY) || "anonymous";
  const env = b.dataset.env;
  return fetch("/v1/environments/" + encodeURIComponent(env) + "/routing", {
    method: "PUT",
    headers: { "Authorization": "Bearer " + token(), "Content-Type": "application/json" },
    body: JSON.stringify({
      primary: b.dataset.to,
      canary: null,
      actor: "page:" + operator,
      action: "switch",
      if_revision: Number(b.dataset.revision),
      force: force,
      message: "emergency switch from the page",
    }),
  });
}

async function switchTo(b) {
  const d = b.dataset;
  const from = d.from ? d.from + " (" + (d.fromVersion || "?") + ")" : "nothing";
  const question = "Switch " + d.env + ": all traffic from " + from + " to " + d.to +
    " (" + d.toVersion + ")?";
  if (!window.confirm(question)) return;
  b.disabled = true;
  let resp = await putRouting(b, false);
  let body = await resp.json().catch(() => ({}));
  if (resp.status === 409 && body.error === "locked" &&
      window.confirm(d.env + " is locked by " + body.locked_by + " (a release may be running). Switch anyway?")) {
    resp = await putRouting(b, true);
    body = await resp.json().catch(() => ({}));
  }
  if (resp.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    arm();
  }
  if (!resp.ok) window.alert("switch refused (" + resp.status + "): " + (body.message || ""));
  b.disabled = false;
}

function connect() {
  const badge = document.getElementById("stream");
  const events = new EventSource("/events");
  events.addEventListener("live", (e) => {
    document.getElementById("live").innerHTML = e.data;
    badge.textContent = "live";
    badge.className = "badge live";
    arm();
  });
  events.addEventListener("error", () => {
    badge.textContent = "reconnecting…";
    badge.className = "badge lost";
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = document.getElementById("token");
    const name = document.getElementById("operator").value.trim();
    if (input.value.trim() !== "") sessionStorage.setItem(TOKEN_KEY, input.value.trim());
    if (name !== "") sessionStorage.setItem(OPERATOR_KEY, name);
    input.value = "";
    arm();
  });
  document.getElementById("live").addEventListener("click", (e) => {
    const b = e.target.closest("button.switch");
    if (b && !b.disabled) switchTo(b);
  });
  arm();
  connect();
});
