package capture

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/snapshot/cpython"
)

// What a thread blocked in I/O was doing, in its own terms: the URLs its
// frames' locals hold (urlopen's url, requests' url, a fetch(url) of the
// program's own). Read only for threads in an I/O system call, and bounded.

const (
	maxURLLen       = 512
	maxURLsPerFrame = 4
)

// urlLike is an absolute URL with a scheme, and nothing that is not one.
// Compiled when first needed: its repetition compiles into fifteen copies,
// which every start-up paid for.
var urlLike = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]{0,15}://[^\s]+$`) })

// notURLs holds values lately found not to be URLs, by address bits: the
// frames of threads deep in the same functions hold the same few values (the
// same ints, functions, self), and each was read again for every frame.
type notURLs [notURLValues]uint64

// notURLValues is how many values notURLs holds.
const notURLValues = 256

// ioContext records the URL-valued locals of a thread blocked in I/O. The
// thread's frames are shared with the decoded snapshot, which may be joined
// again: they are copied before the first URL is written, and only then.
func (b *builder) ioContext(th *snapshot.Thread, ts cpython.ThreadState) {
	if th.State != snapshot.StateIO {
		return
	}
	copied := false
	for i := range ts.Kept {
		if i >= len(th.Frames) {
			break
		}
		for _, v := range ts.Kept[i].Locals {
			if v.Value == 0 || len(th.Frames[i].URLs) >= maxURLsPerFrame {
				continue
			}
			seen := &b.notURLs[(v.Value/16)%notURLValues]
			if *seen == v.Value {
				continue
			}
			s, ok := b.p.Str(v.Value, maxURLLen)
			if ok && !strings.HasSuffix(s, "…") && urlLike().MatchString(s) {
				s, ok = redactURL(s)
			} else {
				ok = false
			}
			if !ok {
				*seen = v.Value
				continue
			}
			if !copied {
				th.Frames, copied = slices.Clone(th.Frames), true
			}
			out := &th.Frames[i]
			if out.URLs == nil {
				out.URLs = map[string]string{}
			}
			out.URLs[v.Name] = s
		}
	}
}

// redactURL replaces a password in a URL by "***", and the value of each
// query parameter whose name says it holds a secret (token, key, secret,
// password, signature …): a report is read by more people than the
// program's credentials are meant for.
func redactURL(s string) (string, bool) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" && u.Opaque == "" && u.Path == "" {
		return "", false
	}
	s = redactQuery(s)
	if _, has := u.User.Password(); !has {
		return s, true
	}
	// The user info runs from "://" to the last "@" before the path.
	start := strings.Index(s, "://") + 3
	auth := s[start:]
	if end := strings.IndexAny(auth, "/?#"); end >= 0 {
		auth = auth[:end]
	}
	at := strings.LastIndexByte(auth, '@')
	colon := strings.IndexByte(auth, ':')
	if at < 0 || colon < 0 || colon > at {
		return "", false
	}
	return s[:start] + auth[:colon] + ":***" + s[start+at:], true
}

// secretParams are parts of query parameter names that say the value is a
// credential: api_key, access_token, X-Amz-Signature, client_secret, pwd.
var secretParams = []string{"token", "key", "secret", "password", "passwd", "pwd", "signature", "sig", "auth", "credential", "session"}

// redactQuery replaces the values of secret-looking query parameters by
// "***", leaving every other byte of the URL as it was.
func redactQuery(s string) string {
	q := strings.IndexByte(s, '?')
	if q < 0 {
		return s
	}
	end := len(s)
	if h := strings.IndexByte(s[q:], '#'); h >= 0 {
		end = q + h
	}
	var b strings.Builder
	b.WriteString(s[:q+1])
	for i, param := range strings.Split(s[q+1:end], "&") {
		if i > 0 {
			b.WriteByte('&')
		}
		name, _, hasValue := strings.Cut(param, "=")
		if hasValue && secretName(name) {
			b.WriteString(name + "=***")
			continue
		}
		b.WriteString(param)
	}
	b.WriteString(s[end:])
	return b.String()
}

func secretName(name string) bool {
	n := strings.ToLower(name)
	if un, err := url.QueryUnescape(n); err == nil {
		n = un
	}
	for _, p := range secretParams {
		if strings.Contains(n, p) {
			return true
		}
	}
	return false
}
