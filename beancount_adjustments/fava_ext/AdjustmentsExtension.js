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
 * Ask for a reason (required), a comment and what the customer is told.
 * @param {HTMLElement} root
 * @param {string} title
 * @param {string} what
 * @returns {Promise<{reason: string, comment: string, customer_reason: string} | null>}
 */
function askReason(root, title, what) {
  const dialog = /** @type {HTMLDialogElement | null} */ (root.querySelector("#adj-reason-dialog"));
  if (!dialog) return Promise.resolve(null);
  const reason = /** @type {HTMLTextAreaElement} */ (dialog.querySelector("#adj-reason-text"));
  const comment = /** @type {HTMLTextAreaElement} */ (dialog.querySelector("#adj-comment-text"));
  const told = /** @type {HTMLTextAreaElement} */ (dialog.querySelector("#adj-customer-reason-text"));
  /** @type {HTMLElement} */ (dialog.querySelector("#adj-reason-title")).textContent = title;
  /** @type {HTMLElement} */ (dialog.querySelector("#adj-reason-what")).textContent = what;
  reason.value = "";
  comment.value = "";
  told.value = "";
  reason.addEventListener("input", () => reason.setCustomValidity(""), { once: true });
  return ask(dialog, reason, () => {
    if (!reason.value.trim()) {
      reason.focus();
      reason.setCustomValidity("A reason is required");
      reason.reportValidity();
      return null;
    }
    return { reason: reason.value.trim(), comment: comment.value.trim(), customer_reason: told.value.trim() };
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
 * An apply decision with what the apply dialog asked (left out when empty).
 * @param {Record<string, string>} decision
 * @param {{effective: string, comment: string}} answer
 * @returns {Record<string, string>}
 */
function withEffective(decision, answer) {
  const out = { ...decision };
  if (answer.effective) out.effective = answer.effective;
  if (answer.comment) out.comment = answer.comment;
  return out;
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
 * The selected rows of a section (or the page): id, the digest of the
 * request and the step it awaits as this page shows them (sent back with each
 * decision, so an item changed or moved on meanwhile is refused).
 * @param {Element} scope
 * @returns {Array<{id: string, digest: string, step: string}>}
 */
function selected(scope) {
  return Array.from(scope.querySelectorAll("input.adj-select:checked")).map((box) => {
    const input = /** @type {HTMLInputElement} */ (box);
    return { id: input.value, digest: input.dataset.adjDigest || "", step: input.dataset.adjStep || "" };
  });
}

/**
 * @param {HTMLElement} root
 * @param {Element} section
 */
function updateSelection(root, section) {
  const ids = selected(section);
  const count = section.querySelector("[data-selected-count]");
  if (count) count.textContent = `${ids.length} selected`;
  const readOnly = Boolean(root.dataset.readOnly);
  section.querySelectorAll("button[data-batch]").forEach((node) => {
    const button = /** @type {HTMLButtonElement} */ (node);
    button.disabled = readOnly || ids.length === 0;
    button.title = readOnly ? "read-only: no acting user" : "";
  });
}

/**
 * One section's select-all (only the rows the rules let you act on: the
 * server marked them) and its batch buttons, which send that section only.
 * @param {HTMLElement} root
 * @param {HTMLElement} section
 */
function bindSection(root, section) {
  const all = /** @type {HTMLInputElement | null} */ (section.querySelector("input.adj-select-all"));
  all?.addEventListener("change", () => {
    section.querySelectorAll('input.adj-select[data-allowed="1"]').forEach((box) => {
      /** @type {HTMLInputElement} */ (box).checked = all.checked;
    });
    if (!all.checked) {
      section.querySelectorAll("input.adj-select").forEach((box) => {
        /** @type {HTMLInputElement} */ (box).checked = false;
      });
    }
    updateSelection(root, section);
  });
  section.addEventListener("change", (event) => {
    const target = event.target;
    if (target instanceof HTMLInputElement && target.classList.contains("adj-select")) {
      updateSelection(root, section);
    }
  });
  updateSelection(root, section);
  section.querySelectorAll("button[data-batch]").forEach((node) => {
    const button = /** @type {HTMLButtonElement} */ (node);
    const action = button.dataset.batch || "";
    button.addEventListener("click", async () => {
      const rows = selected(section);
      if (!rows.length) return;
      if (action === "apply") {
        // As the single-row Apply: an optional effective date (default today) for them all.
        const answer = await askEffective(root, `${button.textContent?.trim()}: ${rows.length}`);
        if (answer) void send(root, rows.map((row) => withEffective({ ...row, action }, answer)));
        return;
      }
      if (action !== "reject") {
        void send(root, rows.map((row) => ({ ...row, action })));
        return;
      }
      const what = rows.map((row) => row.id).join(", ");
      const answer = await askReason(root, `${button.textContent?.trim().replace(/…$/, "")}: ${rows.length}`, what);
      if (answer) {
        void send(root, rows.map((row) => ({ ...row, action, reason: answer.reason, comment: answer.comment, customer_reason: answer.customer_reason })));
      }
    });
  });
}

// -- the "New request" form ---------------------------------------------------

/**
 * The customer the picker names: a label or id from the book's list, or a
 * name only one customer has. Anything else is sent as typed, for the server
 * to judge (it says which customers it knows).
 * @param {HTMLInputElement} input
 * @param {HTMLDataListElement | null} list
 * @returns {{id: string, note: string, bad: boolean}}
 */
function pickCustomer(input, list) {
  const text = input.value.trim();
  if (!text) return { id: "", note: "", bad: false };
  const options = list ? Array.from(list.options) : [];
  const lower = text.toLowerCase();
  const show = (o) => {
    const name = o.dataset.customerName || "";
    return `${name ? `${name} · ` : ""}${o.dataset.customerId} · ${o.dataset.tier || "no tier"}`;
  };
  const exact = options.find((o) => o.value.toLowerCase() === lower || (o.dataset.customerId || "").toLowerCase() === lower);
  if (exact) return { id: exact.dataset.customerId || "", note: show(exact), bad: false };
  const named = options.filter((o) => (o.dataset.customerName || "").toLowerCase() === lower);
  if (named.length === 1) return { id: named[0].dataset.customerId || "", note: show(named[0]), bad: false };
  if (named.length > 1) {
    return { id: "", note: `${named.length} customers are named “${text}”: pick one from the list (${named.map((o) => o.dataset.customerId).join(", ")}).`, bad: true };
  }
  return { id: text, note: `“${text}” is not in the list of customers: the preview says whether the ledger knows it.`, bad: true };
}

/**
 * Offer only the chosen customer's invoices or orders (and those that name no
 * customer); with no customer chosen, all of them. `all` is the list as served.
 * @param {HTMLDataListElement} list
 * @param {HTMLOptionElement[]} all
 * @param {string} customer
 */
function narrowTo(list, all, customer) {
  list.replaceChildren(...all.filter((o) => !customer || !o.dataset.customerId || o.dataset.customerId === customer));
}

/**
 * The form's fields as `POST create` takes them (empty ones left out).
 * @param {HTMLFormElement} form
 * @returns {Record<string, string | boolean>}
 */
function requestFields(form) {
  /** @type {Record<string, string | boolean>} */
  const out = {};
  for (const [key, value] of new FormData(form).entries()) {
    if (key === "approval_required" || key === "on_statement") continue;
    const text = String(value).trim();
    if (text) out[key] = text;
  }
  const required = /** @type {HTMLInputElement | null} */ (form.querySelector("#adj-new-approval-required"));
  out.approval_required = Boolean(required?.checked);
  const shown = /** @type {HTMLInputElement | null} */ (form.querySelector("#adj-new-on-statement"));
  out.on_statement = shown ? shown.checked : true;
  return out;
}

/**
 * When a request books once applied, counted from today: a year typed wrong
 * (2062 for 2026) would book it decades ahead, and nothing else says so.
 * @param {string | null | undefined} day
 */
function booksOn(day) {
  if (!day) return "the day it is applied";
  const days = Math.round((Date.parse(day) - Date.parse(new Date().toISOString().slice(0, 10))) / 86400000);
  const plural = (n) => `${n} day${n === 1 ? "" : "s"}`;
  const when = days > 0 ? `in ${plural(days)}` : days < 0 ? `${plural(-days)} ago` : "today";
  return `${day} (${when})${days > 366 ? " — more than a year ahead: is the year right?" : ""}`;
}

/**
 * Show the preview's answer: the chain the writer judged, or why it refuses.
 * @param {HTMLElement} box
 * @param {number} status
 * @param {any} body
 */
function showPreview(box, status, body) {
  box.innerHTML = "";
  if (status !== 200) {
    box.append(el("p", body.message || body.error || `The server refused the preview (HTTP ${status}).`, "adj-new-error"));
    box.dataset.state = "refused";
    return;
  }
  box.dataset.state = body.automatic ? "automatic" : "chain";
  const amount = body.amount ? `${body.amount.number} ${body.amount.currency}` : "";
  const head = el("p");
  head.append(el("strong", body.automatic ? "Approved automatically" : `${body.chain.length} approval${body.chain.length === 1 ? "" : "s"} needed`));
  head.append(body.automatic
    ? ` — below every threshold for ${body.type}; ${body.separate_apply ? "then a separate apply books it" : "applied at once"}.`
    : ` before ${amount} is booked (${body.type}).`);
  box.append(head);
  if (!body.automatic) {
    const levels = el("ol");
    levels.id = "adj-new-chain";
    for (const level of body.chain) {
      const item = el("li");
      item.append(el("strong", level.role));
      if (level.level === 1) {
        item.append(` — may be given by: ${body.eligible.length ? body.eligible.join(", ") : "nobody now"}`);
      }
      levels.append(item);
    }
    box.append(levels);
    box.append(el("p", `Each level by a different person, never you. ${body.separate_apply ? "Once approved, a separate apply books it." : "The last approval books it."}`, "adj-muted"));
  }
  const facts = el("dl", "", "adj-kv");
  const fact = (term, value) => {
    if (!value) return;
    facts.append(el("dt", term), el("dd", value));
  };
  fact("Rule", body.rule || (body.automatic ? "no row sets a chain for this amount" : ""));
  fact("Books on", booksOn(body.effective));
  fact("Approval required", body.approval_required ? "yes: asked for on the request" : "");
  fact("Customer's statement", `${body.on_statement === false ? "not itemised: shown as an account adjustment" : "itemised"}; ages from ${body.aging_from || "the day it is booked"}`);
  fact("Would be filed as", `${body.id} (${body.state})`);
  fact("Still needs", body.requires);
  box.append(facts);
}

/**
 * @param {HTMLElement} root
 * @param {HTMLFormElement} form
 */
function bindNewRequest(root, form) {
  const picker = /** @type {HTMLInputElement} */ (form.querySelector("#adj-new-customer"));
  const hidden = /** @type {HTMLInputElement} */ (form.querySelector("#adj-new-customer-id"));
  const note = /** @type {HTMLElement} */ (form.querySelector("#adj-new-customer-picked"));
  const list = /** @type {HTMLDataListElement | null} */ (root.querySelector("#adj-customers"));
  const box = /** @type {HTMLElement} */ (root.querySelector("#adj-new-preview-body"));
  const error = /** @type {HTMLElement} */ (form.querySelector("#adj-new-error"));
  const result = /** @type {HTMLElement} */ (form.querySelector("#adj-new-result"));
  const submit = /** @type {HTMLButtonElement} */ (form.querySelector("#adj-new-submit"));
  const closed = submit.disabled;
  const references = ["#adj-invoices", "#adj-orders"]
    .map((selector) => /** @type {HTMLDataListElement | null} */ (root.querySelector(selector)))
    .filter((found) => found !== null)
    .map((found) => ({ list: /** @type {HTMLDataListElement} */ (found), all: Array.from(found.options) }));
  let timer = 0;
  let asked = 0;

  const resolve = () => {
    const found = pickCustomer(picker, list);
    hidden.value = found.id;
    for (const ref of references) narrowTo(ref.list, ref.all, found.id);
    note.textContent = found.note || `${list ? list.options.length : 0} customers; pick one by name or id.`;
    note.classList.toggle("bad", found.bad);
  };

  const preview = async () => {
    const fields = requestFields(form);
    if (!fields.customer || !fields.type || !fields.amount || !fields.reason) return;
    const ask = ++asked;
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(fields)) params.set(key, value === true ? "1" : value === false ? "" : value);
    box.setAttribute("aria-busy", "true");
    let status = 0;
    let body = {};
    try {
      const url = new URL(root.dataset.previewUrl || "", window.location.href);
      params.forEach((value, key) => url.searchParams.set(key, value));
      const response = await fetch(url.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } });
      status = response.status;
      body = await response.json().catch(() => ({}));
    } catch (err) {
      body = { message: `Network error: ${err}` };
    }
    if (ask !== asked) return; // a later preview is on its way
    box.removeAttribute("aria-busy");
    showPreview(box, status, body);
  };
  const later = () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => void preview(), 350);
  };

  picker.addEventListener("input", () => {
    resolve();
    later();
  });
  form.addEventListener("change", () => {
    resolve();
    later();
  });
  form.addEventListener("input", (event) => {
    if (event.target !== picker) later();
    if (!closed) submit.disabled = false;
    error.hidden = true;
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    resolve();
    const fields = requestFields(form);
    const missing = ["customer", "type", "amount", "reason"].filter((key) => !fields[key]);
    if (missing.length) {
      error.textContent = `Fill in ${missing.join(", ")} first.`;
      error.hidden = false;
      // Take the user to the first field missing, not leave them on the button.
      const first = missing[0] === "customer" ? picker : form.querySelector(`[name="${missing[0]}"]`);
      if (first instanceof HTMLElement) first.focus();
      return;
    }
    submit.disabled = true;
    submit.setAttribute("aria-busy", "true");
    let status = 0;
    let body = {};
    try {
      const response = await fetch(root.dataset.createUrl || "", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(fields),
      });
      status = response.status;
      body = await response.json().catch(() => ({}));
    } catch (err) {
      body = { message: `Network error: ${err}` };
    }
    submit.removeAttribute("aria-busy");
    if (status !== 201 && status !== 200) {
      error.textContent = body.message || body.error || `The server refused the request (HTTP ${status}).`;
      error.hidden = false;
      submit.disabled = closed;
      return;
    }
    // Filed: the button stays off until a field changes, so one click files once.
    result.innerHTML = "";
    const banner = el("div", "", "adj-banner ok");
    banner.id = "adj-new-filed";
    banner.append(el("strong", `${status === 201 ? "Filed" : "Already filed"} ${body.id}`), ` — ${body.state}: ${body.requires}. `);
    const link = /** @type {HTMLAnchorElement} */ (el("a", `Open ${body.id}`));
    link.href = (root.dataset.detailUrl || "").replace("__ID__", encodeURIComponent(body.id));
    link.id = "adj-new-open";
    // A full load, not Fava's client-side one: the page Fava serves then knows
    // the ledger just changed (no "file change detected" banner).
    link.addEventListener("click", (click) => {
      click.preventDefault();
      click.stopPropagation();
      window.location.assign(link.href);
    });
    banner.append(link);
    result.append(banner);
  });
  resolve();
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

  root.querySelectorAll("section.adj-section").forEach((section) => {
    bindSection(root, /** @type {HTMLElement} */ (section));
  });
  const form = /** @type {HTMLFormElement | null} */ (root.querySelector("#adj-new-form"));
  if (form) bindNewRequest(root, form);

  root.addEventListener("click", async (event) => {
    const target = event.target;
    if (!(target instanceof HTMLElement)) return;
    const button = target.closest("button[data-adj-action]");
    if (!(button instanceof HTMLButtonElement) || button.disabled) return;
    const id = button.dataset.adjId || "";
    const digest = button.dataset.adjDigest || "";
    const step = button.dataset.adjStep || "";
    const action = button.dataset.adjAction || "";
    if (button.dataset.needsReason) {
      const answer = await askReason(root, `${button.textContent?.trim()} ${id}`, "The reason is recorded in the ledger with your name.");
      if (answer) void send(root, [{ id, digest, step, action, reason: answer.reason, comment: answer.comment, customer_reason: answer.customer_reason }]);
      return;
    }
    if (button.dataset.asksEffective) {
      const answer = await askEffective(root, `${button.textContent?.trim()} ${id}`);
      if (answer) void send(root, [withEffective({ id, digest, step, action }, answer)]);
      return;
    }
    void send(root, [{ id, digest, step, action }]);
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
