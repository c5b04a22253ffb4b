// The receipt page's print button: the browser's print dialog, which prints the receipt alone at A6 (desk.css).
// Without JavaScript the button stays hidden and the page says how to print.
const button = document.getElementById("print-receipt");
if (button) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}
