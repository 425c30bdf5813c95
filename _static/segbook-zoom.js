// Click to enlarge: every figure of a page opens at its natural size over the page (click, Enter or Space),
// and closes with a click, Escape or the browser's back gesture. No network: part of the site's own files.
(function () {
  "use strict";
  function close(overlay, opener) {
    overlay.remove();
    document.body.style.overflow = "";
    if (opener) opener.focus();
  }
  function open(img) {
    var overlay = document.createElement("div");
    overlay.className = "segbook-zoom";
    overlay.setAttribute("role", "dialog");
    overlay.setAttribute("aria-label", "Enlarged figure (click or press Escape to close)");
    overlay.tabIndex = -1;
    var big = document.createElement("img");
    big.src = img.currentSrc || img.src;
    big.alt = img.alt || "";
    big.width = img.naturalWidth;
    overlay.appendChild(big);
    overlay.addEventListener("click", function () { close(overlay, img); });
    overlay.addEventListener("keydown", function (event) {
      if (event.key === "Escape") close(overlay, img);
    });
    document.body.appendChild(overlay);
    document.body.style.overflow = "hidden";
    overlay.focus();
  }
  function setup() {
    document.querySelectorAll(".bd-content article img").forEach(function (img) {
      if (img.closest("a") || img.closest(".segbook-zoom")) return;  // a linked image keeps its link
      img.classList.add("segbook-zoomable");
      img.tabIndex = 0;
      img.title = img.title || "Click to enlarge";
      img.addEventListener("click", function () { open(img); });
      img.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          open(img);
        }
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
