// The staff console's shared script, served from the binary (src/web/assets.rs). Every page works without it; it
// only adds what a browser cannot show by itself:
//  - form[data-progress]: the form is sent in the background so that a <progress> in it shows the upload, then
//    "đang xử lý" while the server works; the answer replaces the page as a normal submit would.
//  - button[data-confirm]: asks before an action that cannot be undone.
(function () {
  "use strict";

  function showAnswer(xhr) {
    var type = xhr.getResponseHeader("Content-Type") || "";
    if (type.indexOf("text/html") === 0) {
      if (xhr.responseURL && xhr.responseURL !== location.href) {
        history.pushState(null, "", xhr.responseURL);
      }
      document.open();
      document.write(xhr.responseText);
      document.close();
    } else if (xhr.responseURL) {
      location.assign(xhr.responseURL);
    }
  }

  function sendWithProgress(form, submitter) {
    var bar = form.querySelector("progress");
    var status = form.querySelector("[data-progress-status]");
    var data = new FormData(form);
    if (submitter && submitter.name) {
      data.append(submitter.name, submitter.value);
    }
    var xhr = new XMLHttpRequest();
    xhr.open("POST", (submitter && submitter.getAttribute("formaction")) || form.action);
    xhr.upload.onprogress = function (event) {
      if (bar && event.lengthComputable) {
        bar.max = event.total;
        bar.value = event.loaded;
      }
      if (status && event.lengthComputable) {
        status.textContent = "Đang tải lên: " + Math.floor((event.loaded * 100) / event.total) + "%";
      }
    };
    xhr.upload.onload = function () {
      if (bar) {
        bar.removeAttribute("value");
      }
      if (status) {
        status.textContent = "Đã tải lên xong, máy chủ đang xử lý…";
      }
    };
    xhr.onload = function () {
      showAnswer(xhr);
    };
    xhr.onerror = function () {
      if (status) {
        status.textContent = "Mất kết nối tới máy chủ. Vui lòng thử lại.";
      }
      form.removeAttribute("aria-busy");
      Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) {
        b.disabled = false;
      });
    };
    if (bar) {
      bar.hidden = false;
      bar.value = 0;
    }
    form.setAttribute("aria-busy", "true");
    Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) {
      b.disabled = true;
    });
    xhr.send(data);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    if (submitter && submitter.hasAttribute("data-confirm") && !window.confirm(submitter.getAttribute("data-confirm"))) {
      event.preventDefault();
      return;
    }
    if (form.hasAttribute("data-progress") && window.FormData && window.XMLHttpRequest) {
      event.preventDefault();
      sendWithProgress(form, submitter);
    }
  });
})();
