// otpidp pages work without JavaScript; this only adds comforts: the resend countdown, a
// show-password button, and copying recovery codes.
(function () {
  "use strict";
  var resend = document.getElementById("resend");
  var wait = document.getElementById("resend-wait");
  if (resend && wait) {
    var n = parseInt(resend.getAttribute("data-wait"), 10) || 0;
    var text = wait.getAttribute("data-text") || "";
    var tick = function () {
      if (n > 0) {
        resend.disabled = true;
        wait.textContent = text.replace("{n}", String(n));
        n--;
        setTimeout(tick, 1000);
      } else {
        resend.disabled = false;
        wait.textContent = "";
      }
    };
    tick();
  }
  var inputs = document.querySelectorAll("input[data-reveal]");
  Array.prototype.forEach.call(inputs, function (input) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "reveal";
    button.textContent = input.getAttribute("data-show");
    button.setAttribute("aria-controls", input.id);
    button.setAttribute("aria-pressed", "false");
    button.addEventListener("click", function () {
      var show = input.type === "password";
      input.type = show ? "text" : "password";
      button.textContent = input.getAttribute(show ? "data-hide" : "data-show");
      button.setAttribute("aria-pressed", show ? "true" : "false");
    });
    input.parentNode.appendChild(button);
  });
  var copy = document.getElementById("copy-codes");
  var codes = document.getElementById("codes");
  if (copy && codes && navigator.clipboard) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      var lines = Array.prototype.map.call(codes.querySelectorAll("code"), function (c) { return c.textContent; });
      navigator.clipboard.writeText(lines.join("\n")).then(function () {
        document.getElementById("copy-status").textContent = copy.getAttribute("data-done");
      });
    });
  }
})();
