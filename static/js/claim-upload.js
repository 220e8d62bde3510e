/* Claim document uploads: a drop area, a list of the chosen files, and a progress bar.

   Every form marked data-upload-form works without this script: its file input is a plain multi-file input and the
   form posts as usual. With it, files can be dropped or added in several goes, files the server would refuse for
   their size or type are named before anything is sent, and the form is sent with XMLHttpRequest so that
   upload.onprogress can drive the <progress> bar. The server answers such a request with JSON: where to go next,
   or the errors of each field (each rejected file named), which are shown in the form's own error lists. */
(function () {
  "use strict";

  var ACCEPTED = /\.(pdf|jpe?g|png|tiff?)$/i;

  function formatSize(bytes) {
    if (bytes >= 1024 * 1024) {
      return (bytes / (1024 * 1024)).toFixed(1) + " MiB";
    }
    return Math.max(1, Math.round(bytes / 1024)) + " KiB";
  }

  function fileKey(file) {
    return [file.name, file.size, file.lastModified].join("/");
  }

  function showErrors(form, errors) {
    Array.prototype.forEach.call(form.querySelectorAll("[data-errors-for]"), function (list) {
      list.textContent = "";
      list.hidden = true;
    });
    var names = Object.keys(errors);
    names.forEach(function (name) {
      var target = form.querySelector('[data-errors-for="' + name + '"]');
      var input = form.querySelector('[name="' + name + '"]');
      if (!target) {
        target = form.querySelector('[data-errors-for="__all__"]');
      }
      if (input) {
        input.setAttribute("aria-invalid", "true");
      }
      var list = target.tagName === "UL" ? target : target.appendChild(document.createElement("ul"));
      errors[name].forEach(function (message) {
        var item = document.createElement("li");
        item.textContent = message;
        list.appendChild(item);
      });
      target.hidden = false;
    });
    if (names.length) {
      var summary = form.querySelector('[data-errors-for="__all__"]');
      if (summary) {
        var intro = document.createElement("p");
        intro.textContent = "Nothing was saved: please correct what is marked below.";
        summary.insertBefore(intro, summary.firstChild);
        summary.hidden = false;
        summary.setAttribute("tabindex", "-1");
        summary.focus();
      }
    }
  }

  function enhance(form) {
    var zone = form.querySelector("[data-dropzone]");
    var input = zone && zone.querySelector('input[type="file"]');
    if (!input || typeof DataTransfer === "undefined") {
      return;
    }
    var chosen = new DataTransfer();
    var maxBytes = parseInt(input.getAttribute("data-max-bytes"), 10) || Infinity;
    var fileList = zone.querySelector("[data-dropzone-files]");
    var hint = zone.querySelector("[data-dropzone-hint]");
    var progressBox = form.querySelector("[data-upload-progress]");
    var progress = progressBox && progressBox.querySelector("progress");
    var percent = progressBox && progressBox.querySelector("[data-upload-percent]");
    var button = form.querySelector('button[type="submit"]');
    if (hint) {
      hint.hidden = false;
    }

    function problem(file) {
      if (file.size === 0) {
        return "the file is empty";
      }
      if (file.size > maxBytes) {
        return "the file is " + formatSize(file.size) + "; the limit is " + formatSize(maxBytes);
      }
      if (!ACCEPTED.test(file.name)) {
        return "only PDF, JPEG, PNG or TIFF documents are accepted";
      }
      return "";
    }

    function render() {
      fileList.textContent = "";
      var errors = [];
      Array.prototype.forEach.call(chosen.files, function (file, index) {
        var item = document.createElement("li");
        var why = problem(file);
        item.textContent = file.name + " (" + formatSize(file.size) + ")" + (why ? ": " + why : "") + " ";
        if (why) {
          item.className = "error";
          errors.push(file.name + ": " + why);
        }
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "button button--secondary";
        remove.textContent = "Remove";
        remove.setAttribute("aria-label", "Remove " + file.name);
        remove.addEventListener("click", function () {
          var kept = new DataTransfer();
          Array.prototype.forEach.call(chosen.files, function (other, otherIndex) {
            if (otherIndex !== index) {
              kept.items.add(other);
            }
          });
          chosen = kept;
          input.files = chosen.files;
          render();
        });
        item.appendChild(remove);
        fileList.appendChild(item);
      });
      var errorBox = form.querySelector('[data-errors-for="' + input.name + '"]');
      if (errorBox) {
        errorBox.textContent = "";
        errors.forEach(function (message) {
          var line = document.createElement("li");
          line.textContent = message;
          errorBox.appendChild(line);
        });
        errorBox.hidden = errors.length === 0;
      }
      input.setAttribute("aria-invalid", errors.length ? "true" : "false");
      return errors;
    }

    function add(files) {
      var known = {};
      Array.prototype.forEach.call(chosen.files, function (file) {
        known[fileKey(file)] = true;
      });
      Array.prototype.forEach.call(files, function (file) {
        if (!known[fileKey(file)]) {
          chosen.items.add(file);
        }
      });
      input.files = chosen.files;
      render();
    }

    input.addEventListener("change", function () {
      add(input.files);
    });
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.add("is-dragover");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () {
        zone.classList.remove("is-dragover");
      });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files.length) {
        add(event.dataTransfer.files);
      }
    });

    form.addEventListener("submit", function (event) {
      if (!window.FormData || !window.XMLHttpRequest) {
        return;
      }
      event.preventDefault();
      var early = render();
      if (early.length) {
        var own = {};
        own[input.name] = early;
        showErrors(form, own);
        return;
      }
      var request = new XMLHttpRequest();
      request.open("POST", form.getAttribute("action") || window.location.href);
      request.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      request.responseType = "json";
      if (progressBox) {
        progressBox.hidden = false;
        progress.value = 0;
        percent.textContent = "0 %";
      }
      if (button) {
        button.disabled = true;
      }
      request.upload.onprogress = function (progressEvent) {
        if (progressEvent.lengthComputable && progress) {
          var done = Math.round((progressEvent.loaded / progressEvent.total) * 100);
          progress.value = done;
          percent.textContent = done + " %";
        }
      };
      request.onload = function () {
        var body = request.response;
        if (body && body.ok && body.redirect) {
          window.location.assign(body.redirect);
          return;
        }
        if (button) {
          button.disabled = false;
        }
        if (progressBox) {
          progressBox.hidden = true;
        }
        if (body && body.errors) {
          showErrors(form, body.errors);
        } else {
          showErrors(form, {__all__: ["The server refused the upload (HTTP " + request.status + "). Please try again."]});
        }
      };
      request.onerror = function () {
        if (button) {
          button.disabled = false;
        }
        if (progressBox) {
          progressBox.hidden = true;
        }
        showErrors(form, {__all__: ["The upload did not reach the server: check your connection and try again."]});
      };
      request.send(new FormData(form));
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("form[data-upload-form]"), enhance);
})();
