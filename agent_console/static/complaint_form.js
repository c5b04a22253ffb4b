// The complaint form's steps, progressively enhanced: they are plain forms posting to the server's draft; with this
// module the identity step hides the name and mobile while «anonymous» is chosen (nothing is cleared: the server
// ignores them for an anonymous complaint), and a Jalali date's day list stops at the chosen month's length.

function followIdentityChoice(form) {
  const named = form.querySelector("#named-fields");
  const radios = form.querySelectorAll('input[name="identity"]');
  if (!named || radios.length === 0) return;
  const update = () => {
    const chosen = form.querySelector('input[name="identity"]:checked');
    named.hidden = chosen !== null && chosen.value === "anonymous";
  };
  radios.forEach((radio) => radio.addEventListener("change", update));
  update();
}

// Months 1-6 have 31 days, the others 30 (Esfand's 30th exists only in a leap year: the server checks that).
function daysInJalaliMonth(month) {
  return month <= 6 ? 31 : 30;
}

function followMonthLength(form) {
  const day = form.querySelector("#day");
  const month = form.querySelector("#month");
  if (!day || !month) return;
  const update = () => {
    const limit = month.value ? daysInJalaliMonth(Number(month.value)) : 31;
    for (const option of day.options) {
      if (option.value) option.disabled = Number(option.value) > limit;
    }
    if (day.value && Number(day.value) > limit) day.value = "";
  };
  month.addEventListener("change", update);
  update();
}

const form = document.getElementById("complaint-form");
if (form) {
  followIdentityChoice(form);
  followMonthLength(form);
}
