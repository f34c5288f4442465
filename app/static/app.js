// Progressive enhancement only: every page works without this file.
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  const message = button && button.dataset.confirm;
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});

// Copy buttons: <button data-copy="#input-id"> copies that input's value (the text stays selectable without JS).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  const input = button && document.querySelector(button.dataset.copy);
  if (!input) {
    return;
  }
  input.select();
  if (navigator.clipboard) {
    navigator.clipboard.writeText(input.value).then(() => {
      button.textContent = "Copied";
    });
  }
});
