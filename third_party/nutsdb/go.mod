module github.com/nutsdb/nutsdb

go 1.18

require (
	github.com/antlabs/timer v0.1.4
	github.com/bwmarrin/snowflake v0.3.0
	github.com/edsrzf/mmap-go v1.2.0
	github.com/gofrs/flock v0.8.1
	github.com/pkg/errors v0.9.1
	github.com/stretchr/testify v1.7.1
	github.com/tidwall/btree v1.6.0
	github.com/xujiajun/gorouter v1.2.0
	github.com/xujiajun/utils v0.0.0-20220904132955-5f7c5b914235
)

require (
	github.com/antlabs/stl v0.0.2 // indirect
	github.com/davecgh/go-spew v1.1.1 // indirect
	github.com/pmezard/go-difflib v1.0.0 // indirect
	golang.org/x/sys v0.15.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
