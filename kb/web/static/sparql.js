// The SPARQL page (templates/sparql.html): choosing an example fills the editor.
// The page works without it (the Load button); each <option> carries its query's text in data-text.
(function () {
  "use strict";
  var form = document.getElementById("sparql-form");
  var select = document.getElementById("example");
  var area = document.getElementById("query");
  if (!form || !select || !area) { return; }
  function chosenText() {
    var option = select.options[select.selectedIndex];
    return option && option.value ? option.getAttribute("data-text") : null;
  }
  document.getElementById("load-example").hidden = true;
  select.addEventListener("change", function () {
    var text = chosenText();
    if (text !== null) { area.value = text; }
  });
  // the example's name travels only while the editor holds the example as it was written
  form.addEventListener("submit", function () {
    var text = chosenText();
    if (text === null || area.value !== text) { select.disabled = true; }
  });
})();
