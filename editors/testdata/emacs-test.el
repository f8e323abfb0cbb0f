;;; emacs-test.el --- headless Eglot test of pelato-lsp  -*- lexical-binding: t; -*-

;;; Commentary:

;; Run by editors_test.go as
;;   emacs --batch -q -l editors/emacs/pelato.el -l editors/testdata/emacs-test.el
;; after the shipped pelato.el.  Opens the broken project's tasks/convert.go
;; and workflow.yaml, lets Eglot start the real pelato-lsp, waits for the
;; Flymake diagnostics Eglot reports, and writes them to $PELATO_OUT as JSON.
;; Failures are written there as {"error": ...} and Emacs exits 1.
;;
;; Environment: PELATO_LSP (server binary), PELATO_PROJECT (project folder),
;; PELATO_OUT (JSON result file), PELATO_TIMEOUT_MS (per wait, default 20000).

;;; Code:

(require 'json)
(require 'flymake)

(defvar pelato-test--timeout
  (/ (string-to-number (or (getenv "PELATO_TIMEOUT_MS") "20000")) 1000.0))

(defun pelato-test--write (obj)
  "Write OBJ as JSON to $PELATO_OUT."
  (with-temp-file (getenv "PELATO_OUT")
    (insert (json-encode obj))))

(defun pelato-test--wait (pred what)
  "Pump events until PRED is non-nil; fail with WHAT after the timeout."
  (let ((deadline (+ (float-time) pelato-test--timeout)))
    (while (not (funcall pred))
      (when (> (float-time) deadline)
        (error "Timed out waiting for %s; %s" what
               (mapconcat (lambda (b)
                            (with-current-buffer b
                              (format "%s: flymake-mode=%s started=%s window=%s diags=%d"
                                      (buffer-name) flymake-mode flymake-check-start-time
                                      (and (get-buffer-window b) t)
                                      (length (flymake-diagnostics)))))
                          (seq-filter #'buffer-file-name (buffer-list)) "; ")))
      ;; Emulate the command loop: eglot-ensure and Flymake start from
      ;; `post-command-hook'.
      (run-hooks 'post-command-hook)
      (accept-process-output nil 0.05))))

(defun pelato-test--diags (buf)
  "The Flymake diagnostics of BUF as alists."
  (with-current-buffer buf
    (mapcar
     (lambda (d)
       (let* ((text (flymake-diagnostic-text d))
              (beg (flymake-diagnostic-beg d)))
         `((file . ,(file-relative-name buffer-file-name (getenv "PELATO_PROJECT")))
           (code . ,(and (string-match "\\[\\(PL[0-9]+\\)\\]" text) (match-string 1 text)))
           (line . ,(line-number-at-pos beg))
           (col . ,(save-excursion (goto-char beg) (- (point) (line-beginning-position))))
           (type . ,(symbol-name (flymake-diagnostic-type d)))
           (text . ,text))))
     (flymake-diagnostics))))

(defun pelato-test--has-code (buf code)
  "Non-nil when BUF has a Flymake diagnostic whose code is CODE."
  (cl-some (lambda (d) (equal (alist-get 'code d) code)) (pelato-test--diags buf)))

(defun pelato-test--main ()
  "Run the test."
  (setq pelato-lsp-program (getenv "PELATO_LSP"))
  (let* ((project (file-name-as-directory (getenv "PELATO_PROJECT")))
         (task (find-file (expand-file-name "tasks/convert.go" project)))
         (wf (find-file (expand-file-name "workflow.yaml" project))))
    (dolist (buf (list task wf))
      (with-current-buffer buf
        (unless (derived-mode-p 'pelato-workflow-mode 'pelato-task-mode)
          (error "pelato.el did not select a pelato mode for %s (got %s)"
                 buffer-file-name major-mode))))
    (pelato-test--wait
     (lambda () (and (buffer-local-value 'eglot--managed-mode task)
                     (buffer-local-value 'eglot--managed-mode wf)))
     "Eglot to manage both buffers")
    (let ((server (with-current-buffer wf (eglot-current-server))))
      (unless (eq server (with-current-buffer task (eglot-current-server)))
        (error "workflow.yaml and tasks/convert.go got different servers"))
      ;; Show each buffer in turn, as a person switching to it would: Flymake
      ;; starts checking a buffer once it is displayed.
      (dolist (buf (list task wf))
        (switch-to-buffer buf)
        (run-window-configuration-change-hook))
      (pelato-test--wait
       (lambda () (and (pelato-test--has-code wf "PL201")
                       (with-current-buffer task (flymake-diagnostics))))
       "Flymake diagnostics (PL201 on workflow.yaml, any on tasks/convert.go)")
      ;; Settle: the server may publish again (e.g. once the task checks
      ;; finish); take the diagnostics after 300 ms without a change.
      (let ((before nil)
            (now (list (pelato-test--diags wf) (pelato-test--diags task))))
        (while (not (equal before now))
          (setq before now)
          (let ((until (+ (float-time) 0.3)))
            (while (< (float-time) until)
              (accept-process-output nil 0.05)))
          (setq now (list (pelato-test--diags wf) (pelato-test--diags task)))))
      (let ((result
             `((root . ,(file-relative-name
                         (project-root (eglot--project server)) project))
               (modes . ,(vector (symbol-name (buffer-local-value 'major-mode wf))
                                 (symbol-name (buffer-local-value 'major-mode task))))
               (diagnostics
                . ,(vconcat
                    (sort (append (pelato-test--diags wf) (pelato-test--diags task))
                          (lambda (a b)
                            (let ((fa (alist-get 'file a)) (fb (alist-get 'file b)))
                              (if (equal fa fb)
                                  (< (alist-get 'line a) (alist-get 'line b))
                                (string< fa fb))))))))))
        (ignore-errors (eglot-shutdown server))
        result))))

(condition-case err
    (progn
      (pelato-test--write (pelato-test--main))
      (kill-emacs 0))
  (error
   (pelato-test--write
    `((error . ,(error-message-string err))
      ;; The server's stderr, as Eglot keeps it, for debugging.
      (server-stderr
       . ,(mapconcat (lambda (b) (with-current-buffer b (buffer-string)))
                     (seq-filter (lambda (b) (string-match-p "stderr" (buffer-name b)))
                                 (buffer-list))
                     "\n"))))
   (kill-emacs 1)))

;;; emacs-test.el ends here
