package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"sort"
)

// A contact sheet tiles every page of one language at one size (light and dark side by side)
// in one PNG, so that a reviewer sees the whole flow at a glance: contact-en-phone.png,
// contact-es-desktop.png, … beside the screenshots.

// sheetTile is one screenshot on a sheet.
type sheetTile struct {
	file  string
	label string
}

// sheetColumns is how many screenshots a sheet row holds.
const sheetColumns = 8

// writeContactSheets writes one sheet per key of shots ("en-phone") into dir and returns
// their file names.
func writeContactSheets(dir string, shots map[string][]sheetTile) ([]string, error) {
	keys := make([]string, 0, len(shots))
	for k := range shots {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var names []string
	for _, k := range keys {
		name := "contact-" + k + ".png"
		if err := writeContactSheet(filepath.Join(dir, name), shots[k]); err != nil {
			return names, fmt.Errorf("%s: %w", name, err)
		}
		names = append(names, name)
	}
	return names, nil
}

func writeContactSheet(path string, tiles []sheetTile) error {
	if len(tiles) == 0 {
		return nil
	}
	var imgs []image.Image
	for _, t := range tiles {
		f, err := os.Open(t.file)
		if err != nil {
			return err
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", t.file, err)
		}
		imgs = append(imgs, img)
	}
	// Every tile is scaled to the first one's size divided by factor: about 260 px wide.
	b0 := imgs[0].Bounds()
	factor := max(b0.Dx()/260, 1)
	tw, th := b0.Dx()/factor, b0.Dy()/factor
	const gap = 8
	cols := min(sheetColumns, len(imgs))
	rows := (len(imgs) + cols - 1) / cols
	sheet := image.NewRGBA(image.Rect(0, 0, cols*(tw+gap)+gap, rows*(th+gap)+gap))
	draw.Draw(sheet, sheet.Bounds(), &image.Uniform{color.RGBA{0x80, 0x80, 0x80, 0xff}}, image.Point{}, draw.Src)
	for i, img := range imgs {
		x0, y0 := gap+(i%cols)*(tw+gap), gap+(i/cols)*(th+gap)
		shrink(sheet, image.Rect(x0, y0, x0+tw, y0+th), img, factor)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, sheet); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// shrink draws src into r of dst, averaging factor×factor pixel blocks (a box filter).
func shrink(dst *image.RGBA, r image.Rectangle, src image.Image, factor int) {
	sb := src.Bounds()
	for y := 0; y < r.Dy(); y++ {
		for x := 0; x < r.Dx(); x++ {
			var rs, gs, bs, n uint32
			for dy := 0; dy < factor; dy++ {
				for dx := 0; dx < factor; dx++ {
					sx, sy := sb.Min.X+x*factor+dx, sb.Min.Y+y*factor+dy
					if sx >= sb.Max.X || sy >= sb.Max.Y {
						continue
					}
					cr, cg, cb, _ := src.At(sx, sy).RGBA()
					rs, gs, bs, n = rs+cr, gs+cg, bs+cb, n+1
				}
			}
			if n == 0 {
				continue
			}
			dst.SetRGBA(r.Min.X+x, r.Min.Y+y, color.RGBA{uint8(rs / n >> 8), uint8(gs / n >> 8), uint8(bs / n >> 8), 0xff})
		}
	}
}
