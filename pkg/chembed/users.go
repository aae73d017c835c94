package chembed

import (
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

var userNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// writeUsersConfig writes a config whose user directory is a users.xml with
// the given users. clickhouse-local reads users only from such a file (not
// from <users> inside the main config, and it has no SQL user storage).
func writeUsersConfig(dataDir string, users []User) (string, error) {
	type profileXML struct {
		XMLName  xml.Name
		ReadOnly int `xml:"readonly,omitempty"`
	}
	type userXML struct {
		XMLName  xml.Name
		Password string   `xml:"password"`
		Profile  string   `xml:"profile"`
		Networks []string `xml:"networks>ip"`
		Quota    string   `xml:"quota"`
	}
	var doc struct {
		XMLName  xml.Name     `xml:"clickhouse"`
		Profiles []profileXML `xml:"profiles>x"`
		Users    []userXML    `xml:"users>x"`
		Quotas   struct {
			Default struct{} `xml:"default"`
		} `xml:"quotas"`
	}
	doc.Profiles = []profileXML{{XMLName: xml.Name{Local: "default"}}, {XMLName: xml.Name{Local: "readonly"}, ReadOnly: 2}}
	doc.Users = []userXML{{XMLName: xml.Name{Local: "default"}, Profile: "default", Networks: []string{"::/0"}, Quota: "default"}}
	for _, u := range users {
		if !userNameRE.MatchString(u.Name) || u.Name == "default" {
			return "", fmt.Errorf("chembed: user name %q", u.Name)
		}
		profile := "default"
		if u.ReadOnly {
			profile = "readonly"
		}
		doc.Users = append(doc.Users, userXML{XMLName: xml.Name{Local: u.Name}, Password: u.Password, Profile: profile,
			Networks: []string{"::/0"}, Quota: "default"})
	}
	usersXML, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return "", err
	}
	dir := filepath.Join(dataDir, "chembed-config")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "users.xml"), usersXML, 0o600); err != nil {
		return "", err
	}
	config := filepath.Join(dir, "config.xml")
	body := `<clickhouse><user_directories><users_xml><path>users.xml</path></users_xml></user_directories></clickhouse>`
	return config, os.WriteFile(config, []byte(body), 0o600)
}
