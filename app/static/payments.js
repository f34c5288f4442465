// The payment form: spread the amount over the open invoices, oldest first, in the payment's currency, and
// show the exchange-rate box only on invoices in another currency. The form works without this file.
(function () {
  const form = document.getElementById("payment-form");
  if (!form) return;
  const amount = form.querySelector("#amount");
  const currency = form.querySelector("#currency");
  const rows = Array.from(form.querySelectorAll("tr[data-currency]"));
  const summary = document.getElementById("allocation-summary");
  const cents = (text) => {
    const value = Math.round(parseFloat(String(text || "").replace(/,/g, "")) * 100);
    return Number.isFinite(value) ? value : 0;
  };
  const show = (value) => (value / 100).toFixed(2);
  // After a refused submission the amounts are the user's own: leave them alone.
  let touched = form.dataset.posted === "1";
  // An invoice the user came from is paid first, then the others oldest first.
  const order = rows.filter((row) => row.dataset.focus).concat(rows.filter((row) => !row.dataset.focus));

  function markCurrencies() {
    rows.forEach((row) => row.classList.toggle("same-currency", row.dataset.currency === currency.value));
  }

  function spread() {
    if (touched) return;
    let left = cents(amount.value);
    order.forEach((row) => {
      const input = row.querySelector(".allocation-amount");
      if (row.dataset.currency !== currency.value || left <= 0) {
        input.value = "";
        return;
      }
      const share = Math.min(cents(row.dataset.balance), left);
      input.value = share > 0 ? show(share) : "";
      left -= share;
    });
    describe();
  }

  function describe() {
    if (!summary) return;
    const total = cents(amount.value);
    const applied = rows
      .filter((row) => row.dataset.currency === currency.value)
      .reduce((sum, row) => sum + cents(row.querySelector(".allocation-amount").value), 0);
    const left = total - applied;
    summary.textContent = left >= 0
      ? `Applied ${show(applied)} ${currency.value}; ${show(left)} ${currency.value} stays as credit on account.`
      : `The amounts applied are ${show(-left)} ${currency.value} more than the payment.`;
  }

  amount.addEventListener("input", spread);
  currency.addEventListener("change", () => { markCurrencies(); spread(); describe(); });
  rows.forEach((row) => row.querySelector(".allocation-amount").addEventListener("input", () => {
    touched = true;
    describe();
  }));
  markCurrencies();
  if (!touched) spread(); else describe();
})();
