;;; emacs-commands.el --- headless Eglot test of pelato's pipeline commands  -*- lexical-binding: t; -*-

;;; Commentary:

;; Run by editors_test.go (TestEmacsCommands) as
;;   emacs --batch -q -l editors/emacs/pelato.el -l editors/testdata/emacs-commands.el
;; on a clean copy of examples/temperature.  Drives the pipeline as a user would:
;;   1. M-x eglot-code-actions in tasks/filter.go with the kind
;;      source.pelato.gen, picking "pelato: Generate task temp_filter";
;;   2. M-x pelato-generate on a task of workflow.yaml, and C-u M-x
;;      pelato-generate for the whole workflow;
;;   3. M-x pelato-invoke in tasks/convert.go;
;;   4. M-x pelato-run with a verb the server does not offer.
;; Writes what it saw to $PELATO_OUT as JSON; the Go test checks gen/ on disk.
;; Failures are written there as {"error": ...} and Emacs exits 1.
;;
;; Environment: as emacs-test.el.

;;; Code:

(require 'json)
(require 'cl-lib)

(defvar pelato-test--timeout
  (/ (string-to-number (or (getenv "PELATO_TIMEOUT_MS") "20000")) 1000.0))

(defvar pelato-test--finished nil
  "The pelato commands that finished, newest first: alists.")

(defvar pelato-test--messages nil
  "The messages shown, newest first.")

(defun pelato-test--write (obj)
  "Write OBJ as JSON to $PELATO_OUT."
  (with-temp-file (getenv "PELATO_OUT")
    (insert (json-encode obj))))

(defun pelato-test--wait (pred what)
  "Pump events until PRED is non-nil; fail with WHAT after the timeout."
  (let ((deadline (+ (float-time) pelato-test--timeout)))
    (while (not (funcall pred))
      (when (> (float-time) deadline)
        (error "Timed out waiting for %s; finished: %S; messages: %S"
               what pelato-test--finished pelato-test--messages))
      (run-hooks 'post-command-hook)
      (accept-process-output nil 0.05))))

(defun pelato-test--finished-count ()
  (length pelato-test--finished))

(defun pelato-test--run-and-wait (what thunk)
  "Call THUNK, then wait for one more pelato command to finish; return it."
  (let ((before (pelato-test--finished-count)))
    (funcall thunk)
    (pelato-test--wait (lambda () (> (pelato-test--finished-count) before)) what)
    (car pelato-test--finished)))

(defun pelato-test--visit (file)
  "Visit FILE and wait until Eglot manages it."
  (let ((buf (find-file file)))
    (pelato-test--wait (lambda () (and (buffer-local-value 'eglot--managed-mode buf)
                                       (with-current-buffer buf (eglot-current-server))))
                       (format "Eglot to manage %s" file))
    buf))

(defun pelato-test--goto (s)
  "Move point to the start of the first occurrence of S."
  (goto-char (point-min))
  (unless (search-forward s nil t)
    (error "No %s in %s" s buffer-file-name))
  (goto-char (match-beginning 0)))

(defun pelato-test--main ()
  "Run the test."
  (setq pelato-lsp-program (getenv "PELATO_LSP"))
  (add-hook 'pelato-command-finished-functions
            (lambda (command _arguments result err)
              (push `((command . ,command)
                      (result . ,(if (stringp result) result (json-encode result)))
                      (error . ,(plist-get err :message)))
                    pelato-test--finished)))
  (advice-add 'message :before
              (lambda (fmt &rest args)
                (when fmt (push (apply #'format-message fmt args) pelato-test--messages))))
  (let* ((project (file-name-as-directory (getenv "PELATO_PROJECT")))
         (menu nil)
         (refusal nil))
    ;; 1. The source action, from Eglot's own code-action menu.
    (with-current-buffer (pelato-test--visit (expand-file-name "tasks/filter.go" project))
      (pelato-test--goto "exec_task")
      (pelato-test--run-and-wait
       "the Generate source action"
       (lambda ()
         (let ((last-nonmenu-event ?a)) ; a keyboard user: completing-read, no popup
           (cl-letf (((symbol-function 'completing-read)
                      (lambda (_prompt collection &rest _)
                        (setq menu (mapcar #'car collection))
                        "pelato: Generate task temp_filter")))
             (eglot-code-actions (point) nil "source.pelato.gen" t))))))
    (let ((only-one (not (file-exists-p (expand-file-name "gen/celsius_to_kelvin_conversion" project)))))
      ;; 2. M-x pelato-generate on a task, C-u M-x pelato-generate for all.
      (with-current-buffer (pelato-test--visit (expand-file-name "workflow.yaml" project))
        (pelato-test--goto "celsius_to_kelvin_conversion")
        (pelato-test--run-and-wait "pelato-generate" (lambda () (pelato-generate)))
        (pelato-test--run-and-wait "C-u pelato-generate" (lambda () (pelato-generate '(4)))))
      ;; 3. M-x pelato-invoke in a task file.
      (with-current-buffer (pelato-test--visit (expand-file-name "tasks/convert.go" project))
        (pelato-test--run-and-wait "pelato-invoke" (lambda () (pelato-invoke "21.5")))
        ;; 4. A verb the server does not offer.
        (condition-case err
            (pelato-run "frobnicate")
          (user-error (setq refusal (error-message-string err)))))
      (let ((server (with-current-buffer (find-buffer-visiting (expand-file-name "workflow.yaml" project))
                      (eglot-current-server))))
        (prog1
            `((menu . ,(vconcat menu))
              (source_action_generated . ,(if only-one t :json-false))
              (verbs . ,(vconcat (pelato-verbs server)))
              (finished . ,(vconcat (reverse pelato-test--finished)))
              (refusal . ,refusal))
          (ignore-errors (eglot-shutdown server)))))))

(condition-case err
    (progn
      (pelato-test--write (pelato-test--main))
      (kill-emacs 0))
  (error
   (pelato-test--write
    `((error . ,(error-message-string err))
      (server-stderr
       . ,(mapconcat (lambda (b) (with-current-buffer b (buffer-string)))
                     (seq-filter (lambda (b) (string-match-p "stderr" (buffer-name b)))
                                 (buffer-list))
                     "\n"))))
   (kill-emacs 1)))

;;; emacs-commands.el ends here
