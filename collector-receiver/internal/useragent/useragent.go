// Package useragent is a small User-Agent parser: device class, OS and
// browser family. It knows the common browsers and platforms; anything else
// is "Other".
package useragent

import "strings"

// Info is what the sessions table stores.
type Info struct {
	Device  string // desktop, mobile, tablet, bot
	OS      string // Windows, macOS, iOS, iPadOS, Android, Linux, ChromeOS, Other
	Browser string // Chrome, Edge, Firefox, Safari, Opera, Samsung Internet, ...
	// Version is the browser's major version ("" when unknown).
	Version string
}

type rule struct{ token, name string }

// Order matters: tokens of derived browsers come before the engines they
// also mention (Edge and Opera say Chrome, Chrome says Safari).
var browsers = []rule{
	{"edga/", "Edge"}, {"edgios/", "Edge"}, {"edg/", "Edge"}, {"edge/", "Edge"},
	{"opr/", "Opera"}, {"opera", "Opera"}, {"opt/", "Opera"},
	{"samsungbrowser/", "Samsung Internet"},
	{"yabrowser/", "Yandex"},
	{"ucbrowser/", "UC Browser"},
	{"vivaldi/", "Vivaldi"},
	{"brave", "Brave"},
	{"duckduckgo/", "DuckDuckGo"},
	{"fxios/", "Firefox"}, {"firefox/", "Firefox"},
	{"crios/", "Chrome"}, {"headlesschrome/", "Headless Chrome"}, {"chromium/", "Chromium"}, {"chrome/", "Chrome"},
	{"msie ", "Internet Explorer"}, {"trident/", "Internet Explorer"},
	{"version/", "Safari"}, // Safari puts its version in Version/x
}

var bots = []string{"bot", "crawler", "spider", "slurp", "bingpreview", "facebookexternalhit", "lighthouse", "pingdom", "headless"}

// Parse classifies a User-Agent string.
func Parse(ua string) Info {
	if strings.TrimSpace(ua) == "" {
		return Info{}
	}
	l := strings.ToLower(ua)
	info := Info{OS: "Other", Browser: "Other", Device: "desktop"}

	switch {
	case strings.Contains(l, "ipad"):
		info.OS, info.Device = "iPadOS", "tablet"
	case strings.Contains(l, "iphone") || strings.Contains(l, "ipod"):
		info.OS, info.Device = "iOS", "mobile"
	case strings.Contains(l, "android"):
		info.OS = "Android"
		if strings.Contains(l, "mobile") {
			info.Device = "mobile"
		} else {
			info.Device = "tablet"
		}
	case strings.Contains(l, "windows phone"):
		info.OS, info.Device = "Windows Phone", "mobile"
	case strings.Contains(l, "windows"):
		info.OS = "Windows"
	case strings.Contains(l, "cros"):
		info.OS = "ChromeOS"
	case strings.Contains(l, "mac os x") || strings.Contains(l, "macintosh"):
		info.OS = "macOS"
	case strings.Contains(l, "linux") || strings.Contains(l, "x11"):
		info.OS = "Linux"
	}
	if info.Device == "desktop" && (strings.Contains(l, "mobile") || strings.Contains(l, "mobi")) {
		info.Device = "mobile"
	}
	if strings.Contains(l, "tablet") {
		info.Device = "tablet"
	}
	for _, b := range bots {
		if strings.Contains(l, b) {
			info.Device = "bot"
			break
		}
	}
	for _, r := range browsers {
		idx := strings.Index(l, r.token)
		if idx < 0 {
			continue
		}
		if r.name == "Safari" && !strings.Contains(l, "safari") {
			continue
		}
		info.Browser = r.name
		if strings.HasSuffix(r.token, "/") || strings.HasSuffix(r.token, " ") {
			info.Version = major(l[idx+len(r.token):])
		}
		break
	}
	if info.Browser == "Internet Explorer" && strings.Contains(l, "trident/") {
		if i := strings.Index(l, "rv:"); i >= 0 {
			info.Version = major(l[i+3:])
		}
	}
	return info
}

func major(s string) string {
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	return s[:end]
}
