package tui

import (
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/lipgloss"
)

// Styles holds every lipgloss style the TUI draws with. Styles only add colour and emphasis:
// every state they show (selection, focus, flash, own auction, errors) is also spelled out in
// text, so the screen stays readable with NO_COLOR or a monochrome terminal, where lipgloss
// renders no styling at all.
type Styles struct {
	Title        lipgloss.Style // pane title
	TitleFocused lipgloss.Style // title of the focused pane
	Header       lipgloss.Style // column headers
	Row          lipgloss.Style // a list row
	RowSelected  lipgloss.Style // the selected row
	RowClosed    lipgloss.Style // a closed auction
	RowFlash     lipgloss.Style // an auction closed less than FlashDuration ago
	Own          lipgloss.Style // a row about this peer (own bid, own auction)
	Muted        lipgloss.Style // secondary text, separators, empty-pane hints
	PeerUp       lipgloss.Style // a connected peer
	PeerDown     lipgloss.Style // a known but unconnected peer
	PeerBad      lipgloss.Style // a peer that equivocated
	StatusBar    lipgloss.Style // the status bar
	Note         lipgloss.Style // an informational notification
	NoteGood     lipgloss.Style // a won or sold notification
	NoteBad      lipgloss.Style // an outbid notification or an error
	Form         lipgloss.Style // the box around forms and details
	Label        lipgloss.Style // form and details labels
	Error        lipgloss.Style // validation and engine errors inside forms
	OK           lipgloss.Style // a valid form value
	Help         help.Styles    // the help line and full help
}

// DefaultStyles returns the default styles. They use the 16 basic ANSI colours only, which read
// on dark and light backgrounds alike and need no terminal background query.
func DefaultStyles() Styles {
	var (
		blue   = lipgloss.Color("4")
		red    = lipgloss.Color("1")
		green  = lipgloss.Color("2")
		yellow = lipgloss.Color("3")
		grey   = lipgloss.Color("8")
		white  = lipgloss.Color("15")
	)
	h := help.New().Styles
	return Styles{
		Title:        lipgloss.NewStyle().Bold(true),
		TitleFocused: lipgloss.NewStyle().Bold(true).Foreground(white).Background(blue),
		Header:       lipgloss.NewStyle().Underline(true),
		Row:          lipgloss.NewStyle(),
		RowSelected:  lipgloss.NewStyle().Reverse(true),
		RowClosed:    lipgloss.NewStyle().Foreground(grey),
		RowFlash:     lipgloss.NewStyle().Bold(true).Foreground(yellow),
		Own:          lipgloss.NewStyle().Foreground(green),
		Muted:        lipgloss.NewStyle().Foreground(grey),
		PeerUp:       lipgloss.NewStyle().Foreground(green),
		PeerDown:     lipgloss.NewStyle().Foreground(grey),
		PeerBad:      lipgloss.NewStyle().Bold(true).Foreground(red),
		StatusBar:    lipgloss.NewStyle().Reverse(true),
		Note:         lipgloss.NewStyle(),
		NoteGood:     lipgloss.NewStyle().Bold(true).Foreground(green),
		NoteBad:      lipgloss.NewStyle().Bold(true).Foreground(red),
		Form:         lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(blue).Padding(0, 1),
		Label:        lipgloss.NewStyle().Bold(true),
		Error:        lipgloss.NewStyle().Foreground(red),
		OK:           lipgloss.NewStyle().Foreground(green),
		Help:         h,
	}
}
