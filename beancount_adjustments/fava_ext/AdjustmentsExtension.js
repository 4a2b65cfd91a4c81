// @ts-check
// Client side of the adjustments workspace: selection, quick actions, batch
// decisions and the demo-mode user picker. Every rule is enforced on the
// server; this file only collects what the reviewer asked for and shows the
// server's answer. No dependencies, no network access beyond this Fava.

const FLASH_KEY = "adjustments-flash";
const DEMO_COOKIE = "adjustments-user";

/** @param {string} text */
function el(tag, text = "", cls = "") {
  const node = document.createElement(tag);
  if (text) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}

/**
 * @param {HTMLElement} root
 * @param {{kind: string, title: string, items?: string[], reload?: boolean}} msg
 */
function flash(root, msg) {
  const box = root.querySelector("#adj-flash");
  if (!box) return;
  box.innerHTML = "";
  const banner = el("div", "", `adj-banner ${msg.kind}`);
  banner.append(el("strong", msg.title));
  if (msg.items && msg.items.length) {
    const list = el("ul");
    for (const item of msg.items) list.append(el("li", item));
    banner.append(list);
  }
  if (msg.reload) {
    const button = el("button", "Reload the page");
    button.type = "button";
    button.addEventListener("click", () => window.location.reload());
    banner.append(" ", button);
  }
  box.append(banner);
  banner.scrollIntoView({ block: "nearest" });
}

/** Summarise a decide response for the banner. */
function describe(body, status) {
  const all = body.refused || [];
  // The writer's messages mostly start with the id already: don't say it twice.
  const refused = all.map((r) =>
    r.message.startsWith(`${r.id} `) || r.message.startsWith(`${r.id}:`) ? r.message : `${r.id}: ${r.message}`,
  );
  const changed = all.filter((r) => r.code === "changed").map((r) => r.id);
  if (status === 200) {
    const ids = body.ids || [];
    return {
      kind: refused.length ? "warn" : "ok",
      title: `Recorded ${body.written} decision${body.written === 1 ? "" : "s"} as ${body.by}: ${ids.join(", ")}.` +
        (refused.length ? ` Refused ${refused.length}:` : ""),
      // A 200 reloads the page at once, so a changed item shows what it holds now.
      items: changed.length ? [...refused, "The page now shows what changed: decide again."] : refused,
    };
  }
  if (status === 409) {
    const what = changed.length ? changed.join(", ") : "The request";
    return {
      kind: "error",
      title: `Nothing was written: ${what} changed since this page showed ${changed.length > 1 ? "them" : "it"}. Reload to see what ${changed.length > 1 ? "they hold" : "it holds"} now, then decide again.`,
      items: refused,
      reload: true,
    };
  }
  if (status === 422) {
    return { kind: "error", title: "Nothing was written: the rules refuse every item.", items: refused };
  }
  return { kind: "error", title: body.error || `The server refused the request (HTTP ${status}).` };
}

/**
 * Show one of the page's dialogs and resolve with what `read` makes of its
 * fields on Confirm (null keeps the dialog open: a field is not valid), or
 * null on Back/Escape.
 * @template T
 * @param {HTMLDialogElement} dialog
 * @param {HTMLElement} first the field to focus
 * @param {() => T | null} read
 * @returns {Promise<T | null>}
 */
function ask(dialog, first, read) {
  return new Promise((resolve) => {
    const form = /** @type {HTMLFormElement} */ (dialog.querySelector("form"));
    const back = /** @type {HTMLButtonElement} */ (dialog.querySelector("button[value=cancel]"));
    const done = (value) => {
      form.removeEventListener("submit", onSubmit);
      back.removeEventListener("click", onBack);
      dialog.removeEventListener("cancel", onBack);
      if (dialog.open) dialog.close();
      resolve(value);
    };
    const onSubmit = (event) => {
      event.preventDefault();
      const value = read();
      if (value !== null) done(value);
    };
    const onBack = (event) => {
      event.preventDefault();
      done(null);
    };
    form.addEventListener("submit", onSubmit);
    back.addEventListener("click", onBack);
    dialog.addEventListener("cancel", onBack);
    dialog.showModal();
    first.focus();
  });
}

/**
 * Ask for a reason (required) and a comment.
 * @param {HTMLElement} root
 * @param {string} title
 * @param {string} what
 * @returns {Promise<{reason: string, comment: string} | null>}
 */
function askReason(root, title, what) {
  const dialog = /** @type {HTMLDialogElement | null} */ (root.querySelector("#adj-reason-dialog"));
  if (!dialog) return Promise.resolve(null);
  const reason = /** @type {HTMLTextAreaElement} */ (dialog.querySelector("#adj-reason-text"));
  const comment = /** @type {HTMLTextAreaElement} */ (dialog.querySelector("#adj-comment-text"));
  /** @type {HTMLElement} */ (dialog.querySelector("#adj-reason-title")).textContent = title;
  /** @type {HTMLElement} */ (dialog.querySelector("#adj-reason-what")).textContent = what;
  reason.value = "";
  comment.value = "";
  reason.addEventListener("input", () => reason.setCustomValidity(""), { once: true });
  return ask(dialog, reason, () => {
    if (!reason.value.trim()) {
      reason.focus();
      reason.setCustomValidity("A reason is required");
      reason.reportValidity();
      return null;
    }
    return { reason: reason.value.trim(), comment: comment.value.trim() };
  });
}

/**
 * Ask for the optional effective date and comment of an apply.
 * @param {HTMLElement} root
 * @param {string} title
 * @returns {Promise<{effective: string, comment: string} | null>}
 */
function askEffective(root, title) {
  const dialog = /** @type {HTMLDialogElement | null} */ (root.querySelector("#adj-apply-dialog"));
  if (!dialog) return Promise.resolve(null);
  const date = /** @type {HTMLInputElement} */ (dialog.querySelector("#adj-effective-date"));
  const comment = /** @type {HTMLTextAreaElement} */ (dialog.querySelector("#adj-apply-comment"));
  /** @type {HTMLElement} */ (dialog.querySelector("#adj-apply-title")).textContent = title;
  date.value = "";
  comment.value = "";
  return ask(dialog, date, () => {
    if (!date.checkValidity()) {
      date.reportValidity();
      return null;
    }
    return { effective: date.value, comment: comment.value.trim() };
  });
}

/**
 * POST decisions; on success reload so the page shows the new book.
 * @param {HTMLElement} root
 * @param {Array<Record<string, string>>} decisions
 */
async function send(root, decisions) {
  const buttons = root.querySelectorAll("button");
  buttons.forEach((b) => b.setAttribute("aria-busy", "true"));
  let status = 0;
  let body = {};
  try {
    const response = await fetch(root.dataset.decideUrl || "", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ decisions }),
    });
    status = response.status;
    try {
      body = await response.json();
    } catch {
      body = {};
    }
  } catch (error) {
    body = { error: `Network error: ${error}` };
  } finally {
    buttons.forEach((b) => b.removeAttribute("aria-busy"));
  }
  const msg = describe(body, status);
  if (status === 200) {
    sessionStorage.setItem(FLASH_KEY, JSON.stringify(msg));
    window.location.reload();
    return;
  }
  flash(root, msg);
}

/**
 * The selected rows: id and the digest of the request as this page shows it
 * (sent back with each decision, so a request changed meanwhile is refused).
 * @param {HTMLElement} root
 * @returns {Array<{id: string, digest: string}>}
 */
function selected(root) {
  return Array.from(root.querySelectorAll("input.adj-select:checked")).map((box) => {
    const input = /** @type {HTMLInputElement} */ (box);
    return { id: input.value, digest: input.dataset.adjDigest || "" };
  });
}

/** @param {HTMLElement} root */
function updateSelection(root) {
  const ids = selected(root);
  const count = root.querySelector("#adj-selected-count");
  if (count) count.textContent = `${ids.length} selected`;
  const readOnly = Boolean(root.dataset.readOnly);
  for (const id of ["#adj-batch-approve", "#adj-batch-reject"]) {
    const button = /** @type {HTMLButtonElement | null} */ (root.querySelector(id));
    if (button) {
      button.disabled = readOnly || ids.length === 0;
      button.title = readOnly ? "read-only: no acting user" : "";
    }
  }
}

/** @param {HTMLElement} root */
function bind(root) {
  const pending = sessionStorage.getItem(FLASH_KEY);
  if (pending) {
    sessionStorage.removeItem(FLASH_KEY);
    try {
      flash(root, JSON.parse(pending));
    } catch {
      /* ignore a broken message */
    }
  }

  const picker = /** @type {HTMLSelectElement | null} */ (root.querySelector("#adj-demo-user"));
  picker?.addEventListener("change", () => {
    const value = encodeURIComponent(picker.value);
    const expires = picker.value ? "" : "; max-age=0";
    document.cookie = `${DEMO_COOKIE}=${value}; path=/; SameSite=Strict${expires}`;
    const url = new URL(window.location.href);
    url.searchParams.delete("as");
    window.location.assign(url.toString());
  });

  const all = /** @type {HTMLInputElement | null} */ (root.querySelector("#adj-select-all"));
  all?.addEventListener("change", () => {
    root.querySelectorAll("input.adj-select").forEach((box) => {
      /** @type {HTMLInputElement} */ (box).checked = all.checked;
    });
    updateSelection(root);
  });
  root.addEventListener("change", (event) => {
    const target = event.target;
    if (target instanceof HTMLInputElement && target.classList.contains("adj-select")) {
      updateSelection(root);
    }
  });
  updateSelection(root);

  root.querySelector("#adj-batch-approve")?.addEventListener("click", () => {
    const rows = selected(root);
    if (rows.length) void send(root, rows.map((row) => ({ ...row, action: "approve" })));
  });
  root.querySelector("#adj-batch-reject")?.addEventListener("click", async () => {
    const rows = selected(root);
    if (!rows.length) return;
    const answer = await askReason(root, `Reject ${rows.length} request${rows.length === 1 ? "" : "s"}`, rows.map((row) => row.id).join(", "));
    if (answer) {
      void send(root, rows.map((row) => ({ ...row, action: "reject", reason: answer.reason, comment: answer.comment })));
    }
  });

  root.addEventListener("click", async (event) => {
    const target = event.target;
    if (!(target instanceof HTMLElement)) return;
    const button = target.closest("button[data-adj-action]");
    if (!(button instanceof HTMLButtonElement) || button.disabled) return;
    const id = button.dataset.adjId || "";
    const digest = button.dataset.adjDigest || "";
    const action = button.dataset.adjAction || "";
    if (button.dataset.needsReason) {
      const answer = await askReason(root, `${button.textContent?.trim()} ${id}`, "The reason is recorded in the ledger with your name.");
      if (answer) void send(root, [{ id, digest, action, reason: answer.reason, comment: answer.comment }]);
      return;
    }
    if (button.dataset.asksEffective) {
      const answer = await askEffective(root, `${button.textContent?.trim()} ${id}`);
      if (answer) {
        /** @type {Record<string, string>} */
        const decision = { id, digest, action };
        if (answer.effective) decision.effective = answer.effective;
        if (answer.comment) decision.comment = answer.comment;
        void send(root, [decision]);
      }
      return;
    }
    void send(root, [{ id, digest, action }]);
  });
}

export default {
  onExtensionPageLoad() {
    const root = document.getElementById("adj-root");
    if (!root || root.dataset.bound) return;
    root.dataset.bound = "1";
    bind(root);
  },
};
