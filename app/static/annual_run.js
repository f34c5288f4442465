// The annual run page: press "Continue issuing" again and again until the run is done.
// Progressive enhancement only: without this file, each press of the button issues one batch.
(() => {
  const form = document.getElementById("run-step-form");
  if (!form || form.dataset.auto !== "1") {
    return;
  }
  const bar = document.getElementById("run-progress");
  const issued = document.getElementById("run-issued");
  const status = document.getElementById("run-status");
  const button = document.getElementById("run-step-button");
  const MAX_RETRIES = 5;
  let failures = 0;

  const say = (text) => {
    status.textContent = text;
  };

  const stop = (text) => {
    say(text);
    button.disabled = false;
    button.textContent = "Continue issuing";
  };

  const show = (data) => {
    bar.max = data.planned || 1;
    bar.value = data.done;
    issued.textContent = data.issued.toLocaleString("en");
    const problems = data.problems ? `; ${data.problems} problem${data.problems === 1 ? "" : "s"}` : "";
    say(`${data.remaining.toLocaleString("en")} still to issue${problems}.`);
  };

  const retry = (text) => {
    failures += 1;
    if (failures > MAX_RETRIES) {
      stop(`${text} Press "Continue issuing" to try again: nothing is issued twice.`);
      return;
    }
    say(`${text} Trying again…`);
    window.setTimeout(step, 1500 * failures);
  };

  async function step() {
    let response;
    try {
      response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
    } catch (error) {
      retry("The connection was lost.");
      return;
    }
    let data = null;
    try {
      data = await response.json();
    } catch (error) {
      data = null;
    }
    if (!response.ok || data === null) {
      if (response.status >= 500 || data === null) {
        retry("The server did not answer as expected.");
      } else {
        stop((data && data.error) || "The run cannot go on from this page.");
      }
      return;
    }
    failures = 0;
    show(data);
    if (data.finished) {
      say("Done. Loading the summary…");
      window.location.reload();
      return;
    }
    if (data.error) {
      // The page explains what stopped the run and offers to resume it.
      window.location.reload();
      return;
    }
    window.setTimeout(step, 0);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!button.disabled) {
      failures = 0;
      button.disabled = true;
      button.textContent = "Issuing…";
      step();
    }
  });
  button.disabled = true;
  button.textContent = "Issuing…";
  step();
})();
