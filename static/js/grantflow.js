/* Behaviour kept out of the pages so the Content-Security-Policy can forbid inline script. */
document.addEventListener("change", function (event) {
  var field = event.target;
  if (field.matches && field.matches("[data-submit-on-change]") && field.form) {
    field.form.submit();
  }
});
