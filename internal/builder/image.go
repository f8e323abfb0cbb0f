package builder

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
)

// ImageRepository is the repository of the builder images pelato builds.
const ImageRepository = "pelato-builder"

// ImageSource is what a builder image is built from: a Dockerfile and the other
// files of its build context.
type ImageSource struct {
	Dockerfile []byte
	// Files are further build-context files by slash-separated path.
	Files map[string]File
	// Labels are added to the image (besides pelato's own).
	Labels map[string]string
	// BuildArgs are the Dockerfile's ARG values (e.g. TINYGO_VERSION); an ARG not
	// given keeps the Dockerfile's default. They are part of Hash, so an image built
	// with other versions gets another tag.
	BuildArgs map[string]string
}

// File is a build-context file. A Mode with fs.ModeDir marks a folder.
type File struct {
	Data []byte
	Mode int64 // permission bits (and 0o40000 for a folder); 0 means 0o644
}

// Hash is the hex SHA-256 of everything the image is built from.
func (s ImageSource) Hash() string {
	h := sha256.New()
	fmt.Fprintf(h, "Dockerfile\x00%d\x00", len(s.Dockerfile))
	h.Write(s.Dockerfile)
	for _, name := range sortedKeys(s.Files) {
		f := s.Files[name]
		fmt.Fprintf(h, "%s\x00%o\x00%d\x00", name, f.Mode, len(f.Data))
		h.Write(f.Data)
	}
	for _, k := range sortedKeys(s.Labels) {
		fmt.Fprintf(h, "label\x00%s\x00%s\x00", k, s.Labels[k])
	}
	for _, k := range sortedKeys(s.BuildArgs) {
		fmt.Fprintf(h, "arg\x00%s\x00%s\x00", k, s.BuildArgs[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Tag is the image reference pelato gives an image built from s:
// pelato-builder:<first 16 hex digits of Hash>.
func (s ImageSource) Tag() string { return ImageRepository + ":" + s.Hash()[:16] }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Image is a builder image present in the daemon.
type Image struct {
	Ref string `json:"ref"`
	ID  string `json:"id"`
	// Built is true when this run built (or pulled) it.
	Built    bool          `json:"built"`
	Duration time.Duration `json:"duration_ns"`
}

// ImageBuildError reports a failed image build with the step that failed.
type ImageBuildError struct {
	Ref     string
	Step    string // e.g. "Step 3/7 : RUN curl ..."
	Message string
}

func (e *ImageBuildError) Error() string {
	step := ""
	if e.Step != "" {
		step = " at " + e.Step
	}
	return fmt.Sprintf("building the builder image %s failed%s: %s", e.Ref, step, e.Message)
}

// ErrImageNotFound is returned by ImageID for an image the daemon does not have.
var ErrImageNotFound = fmt.Errorf("image not found")

// ImageID returns the id of the local image ref.
func (c *Client) ImageID(ctx context.Context, ref string) (string, error) {
	ins, err := c.api.ImageInspect(ctx, ref)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return "", fmt.Errorf("%s: %w", ref, ErrImageNotFound)
		}
		return "", c.wrap("inspect image "+ref, err)
	}
	return ins.ID, nil
}

// EnsureImage returns the builder image built from src, building it when the daemon
// does not have it yet. log receives the build's output a line at a time.
func (c *Client) EnsureImage(ctx context.Context, src ImageSource, log func(string)) (Image, error) {
	ref := src.Tag()
	if id, err := c.ImageID(ctx, ref); err == nil {
		return Image{Ref: ref, ID: id}, nil
	} else if !isNotFound(err) {
		return Image{}, err
	}
	start := time.Now()
	ctxTar, err := buildContext(src)
	if err != nil {
		return Image{}, err
	}
	labels := map[string]string{LabelManaged: "true", LabelBuilder: src.Hash()}
	for k, v := range src.Labels {
		labels[k] = v
	}
	var args map[string]*string
	for k, v := range src.BuildArgs {
		if args == nil {
			args = map[string]*string{}
		}
		args[k] = &v
	}
	resp, err := c.api.ImageBuild(ctx, bytes.NewReader(ctxTar), build.ImageBuildOptions{
		Tags: []string{ref}, Dockerfile: "Dockerfile", Remove: true, ForceRemove: true, Labels: labels, BuildArgs: args,
	})
	if err != nil {
		return Image{}, c.wrap("build the builder image "+ref, err)
	}
	defer resp.Body.Close()
	if err := readBuildStream(resp.Body, ref, log); err != nil {
		if IsDiskFull(err.Error()) {
			return Image{}, &DiskFullError{Op: "build the builder image " + ref, Err: err}
		}
		if ctx.Err() != nil {
			return Image{}, ctx.Err()
		}
		return Image{}, err
	}
	id, err := c.ImageID(ctx, ref)
	if err != nil {
		return Image{}, err
	}
	return Image{Ref: ref, ID: id, Built: true, Duration: time.Since(start)}, nil
}

// UseImage returns the user-named image ref, pulling it when it is not present.
// pelato never builds or rebuilds such an image.
func (c *Client) UseImage(ctx context.Context, ref string, log func(string)) (Image, error) {
	if id, err := c.ImageID(ctx, ref); err == nil {
		return Image{Ref: ref, ID: id}, nil
	} else if !isNotFound(err) {
		return Image{}, err
	}
	start := time.Now()
	rc, err := c.api.ImagePull(ctx, ref, image.PullOptions{})
	if err == nil {
		err = readBuildStream(rc, ref, log)
		rc.Close()
	}
	if err != nil {
		if ctx.Err() != nil {
			return Image{}, ctx.Err()
		}
		return Image{}, fmt.Errorf("builder image %s is not present and could not be pulled: %v", ref, oneLine(err.Error()))
	}
	id, err := c.ImageID(ctx, ref)
	if err != nil {
		return Image{}, err
	}
	return Image{Ref: ref, ID: id, Built: true, Duration: time.Since(start)}, nil
}

// RemoveImage removes an image (tests clean up with it).
func (c *Client) RemoveImage(ctx context.Context, ref string) error {
	_, err := c.api.ImageRemove(ctx, ref, image.RemoveOptions{Force: true, PruneChildren: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return c.wrap("remove image "+ref, err)
	}
	return nil
}

func isNotFound(err error) bool {
	return err != nil && strings.Contains(err.Error(), ErrImageNotFound.Error())
}

// buildContext writes the build context as a tar stream.
func buildContext(src ImageSource) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0)
	add := func(name string, f File) error {
		mode := f.Mode
		if mode == 0 {
			mode = 0o644
		}
		hdr := &tar.Header{Name: name, Mode: mode & 0o7777, Size: int64(len(f.Data)), ModTime: epoch, Typeflag: tar.TypeReg}
		if mode&0o40000 != 0 {
			hdr.Typeflag, hdr.Size, hdr.Name = tar.TypeDir, 0, strings.TrimSuffix(name, "/")+"/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := tw.Write(f.Data)
		return err
	}
	if err := add("Dockerfile", File{Data: src.Dockerfile}); err != nil {
		return nil, err
	}
	for _, name := range sortedKeys(src.Files) {
		if err := add(name, src.Files[name]); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// buildMessage is one JSON message of the image build or pull stream.
type buildMessage struct {
	Stream      string `json:"stream"`
	Status      string `json:"status"`
	ID          string `json:"id"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// readBuildStream passes the build's output to log and returns an
// *ImageBuildError naming the last step when the build failed.
func readBuildStream(r io.Reader, ref string, log func(string)) error {
	if log == nil {
		log = func(string) {}
	}
	dec := json.NewDecoder(bufio.NewReader(r))
	step := ""
	var tail []string
	for {
		var m buildMessage
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("read the image build output of %s: %w", ref, err)
		}
		if m.Error != "" || m.ErrorDetail != nil {
			msg := m.Error
			if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
				msg = m.ErrorDetail.Message
			}
			if len(tail) > 0 && !strings.Contains(msg, tail[len(tail)-1]) {
				msg += " (last output: " + tail[len(tail)-1] + ")"
			}
			return &ImageBuildError{Ref: ref, Step: step, Message: oneLine(msg)}
		}
		text := m.Stream
		if text == "" && m.Status != "" {
			text = strings.TrimSpace(m.ID + " " + m.Status)
		}
		for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
			line = strings.TrimRight(line, "\r")
			if strings.TrimSpace(line) == "" {
				continue
			}
			if strings.HasPrefix(line, "Step ") {
				step = line
				tail = tail[:0]
			} else {
				tail = append(tail[max(0, len(tail)-4):], line)
			}
			log(line)
		}
	}
}

// oneLine joins a multi-line message into one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// PruneImages removes dangling images that carry every label of labels.
func (c *Client) PruneImages(ctx context.Context, labels map[string]string) error {
	f := filters.NewArgs(filters.Arg("dangling", "true"))
	for k, v := range labels {
		f.Add("label", k+"="+v)
	}
	_, err := c.api.ImagesPrune(ctx, f)
	return c.wrap("prune images", err)
}
